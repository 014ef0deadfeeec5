// The whole public API of keel: the actor core and the event log.
#pragma once

#include <keel/base/result.h>
#include <keel/base/status.h>
#include <keel/core/actor.h>
#include <keel/core/actor_ref.h>
#include <keel/core/actor_system.h>
#include <keel/core/config.h>
#include <keel/core/diagnostics.h>
#include <keel/core/failure.h>
#include <keel/core/hooks.h>
#include <keel/core/mailbox.h>
#include <keel/core/message.h>
#include <keel/core/monitor.h>
#include <keel/core/state.h>
#include <keel/core/supervisor.h>
#include <keel/core/timer.h>
#include <keel/core/type_registry.h>
#include <keel/eventlog/event_sourced.h>
#include <keel/eventlog/format.h>
#include <keel/eventlog/io_env.h>
#include <keel/eventlog/journal.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>
#include <keel/eventlog/snapshot.h>
