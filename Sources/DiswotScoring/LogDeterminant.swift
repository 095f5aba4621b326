#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// log |det A| of a square row-major matrix, by LU factorisation with partial pivoting
/// in Double: the magnitude part of `numpy.linalg.slogdet` (LAPACK's getrf underneath),
/// which is what NASWOT reports. A matrix with an exactly zero pivot is singular and gives
/// −infinity, as slogdet does; a nearly singular one gives a large negative finite value.
/// matrix: [order, order]
public func logAbsDeterminant(_ matrix: [Double], order n: Int) -> Double {
  precondition(n >= 0 && matrix.count == n * n, "\(matrix.count) elements for a \(n)×\(n) matrix")
  var a = matrix
  var logDet = 0.0
  for k in 0..<n {
    var pivotRow = k
    for i in (k + 1)..<n where abs(a[i * n + k]) > abs(a[pivotRow * n + k]) { pivotRow = i }
    let pivot = a[pivotRow * n + k]
    if pivot == 0 { return -.infinity }
    if pivotRow != k {
      for j in k..<n { a.swapAt(k * n + j, pivotRow * n + j) }
    }
    logDet += log(abs(pivot))
    for i in (k + 1)..<n {
      let factor = a[i * n + k] / pivot
      guard factor != 0 else { continue }
      for j in (k + 1)..<n { a[i * n + j] -= factor * a[k * n + j] }
    }
  }
  return logDet
}
