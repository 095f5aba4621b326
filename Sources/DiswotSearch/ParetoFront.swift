/// The architectures no other beats on both score (higher is better) and cost (lower is
/// better), cheapest first.
public func paretoFront<T>(_ items: [T], score: (T) -> Double, cost: (T) -> Int) -> [T] {
  let sorted = items.enumerated().sorted {
    let (a, b) = (cost($0.element), cost($1.element))
    return a != b ? a < b : score($0.element) > score($1.element)
  }
  var front: [T] = []
  var bestScore = -Double.infinity
  for (_, item) in sorted where score(item) > bestScore {
    front.append(item)
    bestScore = score(item)
  }
  return front
}
