// Rank and linear correlations between proxy scores and measured accuracies: how the
// paper (and every zero-cost-proxy paper) judges a proxy. Each follows scipy.stats'
// default (kendalltau: tau-b; spearmanr; pearsonr) and returns NaN where scipy does:
// fewer than two pairs, or a constant input. Inputs must not contain NaN and must have
// equal lengths (a mismatch is a programming error and stops the program).

/// Kendall's tau-b, ties in either list handled:
/// (concordant − discordant) / sqrt((P − T_x)(P − T_y)) over the P = n(n−1)/2 pairs, T_x
/// and T_y being the pairs tied in x and in y. O(n log n) (Knight 1966, as scipy): sort by
/// (x, y); then discordant pairs are the inversions of y in that order, counted by a
/// merge sort, and concordant − discordant = P − T_x − T_y + T_xy − 2·discordant, with
/// T_xy the pairs tied in both. Clamped to [−1, 1] against rounding, as scipy does.
public func kendallTau(_ x: [Double], _ y: [Double]) -> Double {
  precondition(x.count == y.count, "kendallTau of \(x.count) and \(y.count) values")
  let n = x.count
  guard n >= 2 else { return .nan }
  let order = (0..<n).sorted { (x[$0], y[$0]) < (x[$1], y[$1]) }
  var xTies = 0, jointTies = 0
  var start = 0
  while start < n {
    var end = start + 1
    while end < n, x[order[end]] == x[order[start]] { end += 1 }
    xTies += (end - start) * (end - start - 1) / 2
    var jointStart = start
    while jointStart < end {
      var jointEnd = jointStart + 1
      while jointEnd < end, y[order[jointEnd]] == y[order[jointStart]] { jointEnd += 1 }
      jointTies += (jointEnd - jointStart) * (jointEnd - jointStart - 1) / 2
      jointStart = jointEnd
    }
    start = end
  }
  var ys = order.map { y[$0] }
  let discordant = sortCountingInversions(&ys)
  var yTies = 0
  start = 0
  while start < n {
    var end = start + 1
    while end < n, ys[end] == ys[start] { end += 1 }
    yTies += (end - start) * (end - start - 1) / 2
    start = end
  }
  let pairs = n * (n - 1) / 2
  guard xTies < pairs, yTies < pairs else { return .nan }
  let difference = pairs - xTies - yTies + jointTies - 2 * discordant
  let tau = Double(difference) / (Double(pairs - xTies) * Double(pairs - yTies)).squareRoot()
  return min(1, max(-1, tau))
}

/// Sorts `values` ascending (bottom-up merge sort) and returns the number of pairs
/// i < j with values[i] > values[j] strictly; equal values are not inversions.
private func sortCountingInversions(_ values: inout [Double]) -> Int {
  let n = values.count
  var buffer = values
  var inversions = 0
  var width = 1
  while width < n {
    var lo = 0
    while lo < n {
      let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
      var (i, j, k) = (lo, mid, lo)
      while i < mid, j < hi {
        if values[i] <= values[j] {
          buffer[k] = values[i]
          i += 1
        } else {
          buffer[k] = values[j]
          inversions += mid - i
          j += 1
        }
        k += 1
      }
      while i < mid { buffer[k] = values[i]; i += 1; k += 1 }
      while j < hi { buffer[k] = values[j]; j += 1; k += 1 }
      lo = hi
    }
    swap(&values, &buffer)
    width *= 2
  }
  return inversions
}

/// Spearman's rho: Pearson's r of the ranks, tied values sharing their average rank.
public func spearmanRho(_ x: [Double], _ y: [Double]) -> Double {
  precondition(x.count == y.count, "spearmanRho of \(x.count) and \(y.count) values")
  return pearsonR(averageRanks(x), averageRanks(y))
}

/// 1-based ranks, each run of equal values getting the mean of the ranks it spans.
private func averageRanks(_ values: [Double]) -> [Double] {
  let order = values.indices.sorted { values[$0] < values[$1] }
  var ranks = [Double](repeating: 0, count: values.count)
  var start = 0
  while start < order.count {
    var end = start + 1
    while end < order.count, values[order[end]] == values[order[start]] { end += 1 }
    let rank = Double(start + end + 1) / 2  // mean of start+1 … end
    for i in start..<end { ranks[order[i]] = rank }
    start = end
  }
  return ranks
}

/// Pearson's r, from centred sums (two passes, so a large common offset does not cancel
/// the signal), clamped to [−1, 1] against rounding as scipy does.
public func pearsonR(_ x: [Double], _ y: [Double]) -> Double {
  precondition(x.count == y.count, "pearsonR of \(x.count) and \(y.count) values")
  let n = x.count
  // Exactly constant input is undefined; testing it directly keeps rounding in the
  // mean from producing a meaningless tiny variance.
  guard n >= 2, x.contains(where: { $0 != x[0] }), y.contains(where: { $0 != y[0] }) else { return .nan }
  let meanX = x.reduce(0, +) / Double(n), meanY = y.reduce(0, +) / Double(n)
  var sxx = 0.0, syy = 0.0, sxy = 0.0
  for i in 0..<n {
    let dx = x[i] - meanX, dy = y[i] - meanY
    sxx += dx * dx
    syy += dy * dy
    sxy += dx * dy
  }
  return min(1, max(-1, sxy / (sxx.squareRoot() * syy.squareRoot())))
}
