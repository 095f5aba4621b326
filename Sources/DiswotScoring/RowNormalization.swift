/// Scales each row of a row-major [rows, columns] matrix to unit L2 norm in place; a row
/// of zeros stays zero (as PyTorch's `F.normalize`, which divides by max(‖row‖, ε)).
/// Both DisWOT metrics compare *row-normalised* Gram matrices, so that the networks'
/// overall activation scale, which differs between any two architectures, cancels.
func normalizeRows(_ m: inout [Double], rows: Int, columns: Int) {
  for r in 0..<rows {
    var sq = 0.0
    for c in 0..<columns { sq += m[r * columns + c] * m[r * columns + c] }
    guard sq > 0 else { continue }
    let inverse = 1 / sq.squareRoot()
    for c in 0..<columns { m[r * columns + c] *= inverse }
  }
}

/// Σ (a − b)² over two equally long matrices, in Double.
func squaredDistance(_ a: [Double], _ b: [Double]) -> Double {
  var sum = 0.0
  for i in a.indices { let d = a[i] - b[i]; sum += d * d }
  return sum
}
