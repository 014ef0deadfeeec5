// keel::observe::histogram_snapshot: sums of shards, differences between readings, percentiles
// and cumulative counts for export.
#include <algorithm>
#include <cmath>

#include <keel/observe/histogram.h>

namespace keel::observe {

void histogram_snapshot::add(const histogram& h) noexcept {
  // The total first: a record in flight then shows in a bucket at most, never in the total
  // alone, so percentile() never walks past the buckets.
  std::uint64_t total = 0;
  for (int b = 0; b < histogram::k_buckets; ++b) {
    const std::uint64_t n = h.bucket(b);
    counts[static_cast<std::size_t>(b)] += n;
    total += n;
  }
  count += total;
  sum += h.sum();
  max = std::max(max, h.max());
}

void histogram_snapshot::add(const histogram_snapshot& s) noexcept {
  for (std::size_t b = 0; b < counts.size(); ++b) counts[b] += s.counts[b];
  count += s.count;
  sum += s.sum;
  max = std::max(max, s.max);
}

histogram_snapshot histogram_snapshot::minus(const histogram_snapshot& earlier) const noexcept {
  histogram_snapshot d;
  for (std::size_t b = 0; b < counts.size(); ++b) {
    d.counts[b] = counts[b] >= earlier.counts[b] ? counts[b] - earlier.counts[b] : 0;
    d.count += d.counts[b];
  }
  d.sum = sum >= earlier.sum ? sum - earlier.sum : 0;
  // The largest value of the interval is not known: the largest bucket that grew bounds it.
  for (int b = histogram::k_buckets - 1; b >= 0; --b) {
    if (d.counts[static_cast<std::size_t>(b)] != 0) {
      d.max = b == histogram::k_buckets - 1 ? max : std::min(max, histogram::upper_bound(b) - 1);
      break;
    }
  }
  return d;
}

std::uint64_t histogram_snapshot::percentile(double q) const noexcept {
  if (count == 0) return 0;
  if (!(q > 0)) q = 0;  // (NaN too)
  if (q > 1) q = 1;
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count))));
  std::uint64_t seen = 0;
  for (int b = 0; b < histogram::k_buckets; ++b) {
    seen += counts[static_cast<std::size_t>(b)];
    if (seen >= rank) {
      // The last bucket is open-ended: its values may lie past its bound, up to max.
      if (b == histogram::k_buckets - 1) return max;
      return std::min(histogram::upper_bound(b) - 1, max);
    }
  }
  return max;
}

std::uint64_t histogram_snapshot::count_at_most(std::uint64_t v) const noexcept {
  std::uint64_t n = 0;
  for (int b = 0; b < histogram::k_buckets; ++b) {
    if (histogram::upper_bound(b) - 1 > v) break;
    n += counts[static_cast<std::size_t>(b)];
  }
  return n;
}

}  // namespace keel::observe
