// keel::actor_ref<T>: a cheap, copyable address of one actor incarnation.
//
// Typed by default: actor_ref<counter> accepts only the messages `counter` declares, so a wrong
// message fails to compile. actor_ref<> (actor_ref<void>) accepts any message; an actor that
// does not handle it turns it into a dead letter with reason unhandled_message.
//
// A ref stays safe after its actor is gone: it points at a cell that is never freed while the
// system lives, and a send to a past incarnation becomes a dead letter (send_status::dead_letter)
// with reason actor_stopped. A default-constructed ref behaves the same way.
//
// Thread safety: any thread may copy a ref and send through it concurrently. A ref must not be
// used after its actor_system is destroyed.
//
// Memory ordering: everything the sender wrote before send() is visible to the handler that
// receives the message (the mailbox push is a release, the pop an acquire). Messages from one
// sender to one receiver are handled in the order they were sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <keel/core/ask.h>
#include <keel/core/cell.h>
#include <keel/core/message.h>
#include <keel/core/send.h>
#include <keel/core/type_list.h>

namespace keel {

namespace detail {
template <class T, class M>
concept accepts = std::is_void_v<T> || contains_v < std::remove_cvref_t<M>,
typename T::handled_messages > ;

// Control requests on the system lane (stop, suspend, resume; overflow: a bounded lane with the
// fail policy overflowed). Any thread.
enum class control : std::uint8_t { start, stop, suspend, resume, overflow };
send_status send_control(actor_cell* c, std::uint32_t generation, control what) noexcept;
actor_id id_of(const actor_cell* c, std::uint32_t generation) noexcept;
}  // namespace detail

template <class T = void>
class actor_ref {
 public:
  actor_ref() noexcept = default;

  // A typed ref converts to an untyped one.
  template <class U>
  requires(std::is_void_v<T> && !std::is_void_v<U>) actor_ref(const actor_ref<U>& other)
  noexcept : cell_(other.cell_), generation_(other.generation_) {}

  // Sends `m` (moved or copied into the envelope). Any thread. No lock, no syscall; allocates an
  // envelope only when the calling worker's cache is empty.
  // To a bounded mailbox that is full, the actor's overflow policy applies (mailbox.h).
  template <class M>
  requires detail::accepts<T, M> send_status send(M&& m)
  const noexcept { return detail::send_message(cell_, generation_, std::forward<M>(m)); }
  // Like send(), but a full bounded mailbox never applies its policy: send_status::full, and
  // `m` is left untouched (an rvalue is not moved from), so the caller can try again later.
  template <class M>
  requires detail::accepts<T, M> send_status try_send(M&& m)
  const noexcept { return detail::try_send_message(cell_, generation_, std::forward<M>(m)); }

  // Sends `m` and blocks until the reply (of type R) or `timeout`. Only from a thread that is
  // not a worker of this system (errc::wrong_thread otherwise: inside an actor use
  // actor::ask). errc::timeout, actor_stopped, unhandled_message, failed or type_mismatch on
  // failure.
  template <message R, class M>
  requires detail::accepts<T, M> result<R> ask(M&& m, std::chrono::nanoseconds timeout)
  const {
    if (cell_ == nullptr) return status(errc::actor_stopped, "ask through an empty actor_ref");
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    if (e == nullptr) return status(errc::out_of_memory, "ask: no memory for the request");
    return detail::take_reply<R>(detail::blocking_ask(cell_, generation_, e, timeout));
  }

  // Asks the actor to stop after the message it is handling (a system message: it overtakes
  // queued user messages). Any thread.
  send_status stop() const noexcept {
    return detail::send_control(cell_, generation_, detail::control::stop);
  }
  // A suspended actor handles system messages only; user messages wait, in order.
  send_status suspend() const noexcept {
    return detail::send_control(cell_, generation_, detail::control::suspend);
  }
  send_status resume() const noexcept {
    return detail::send_control(cell_, generation_, detail::control::resume);
  }

  // Whether this ref was ever bound to an actor (it may have stopped since).
  bool valid() const noexcept { return cell_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  // Whether the actor is still this incarnation (racy by nature: a hint).
  bool alive() const noexcept {
    return cell_ != nullptr && cell_->generation.load(std::memory_order_acquire) == generation_;
  }
  actor_handle handle() const noexcept {
    return cell_ == nullptr ? actor_handle{} : actor_handle{cell_->slot, generation_};
  }
  // The actor's id, or k_no_actor if it has stopped.
  actor_id id() const noexcept { return detail::id_of(cell_, generation_); }

  friend bool operator==(const actor_ref& a, const actor_ref& b) noexcept {
    return a.cell_ == b.cell_ && a.generation_ == b.generation_;
  }

  // For the runtime: binds a ref to a cell incarnation.
  static actor_ref from_cell(detail::actor_cell* c, std::uint32_t generation) noexcept {
    actor_ref r;
    r.cell_ = c;
    r.generation_ = generation;
    return r;
  }
  detail::actor_cell* cell() const noexcept { return cell_; }
  std::uint32_t generation() const noexcept { return generation_; }

 private:
  template <class U>
  friend class actor_ref;
  detail::actor_cell* cell_ = nullptr;
  std::uint32_t generation_ = 0;
};

}  // namespace keel
