import COpenBLAS

/// Eigenvalues of a symmetric row-major matrix, ascending, by LAPACK's `dsyev` (the
/// matrix is symmetric, so row- and column-major are the same matrix). Returns nil when
/// LAPACK reports failure to converge or an illegal argument. matrix: [order, order]
public func symmetricEigenvalues(_ matrix: [Double], order n: Int) -> [Double]? {
  precondition(n >= 0 && matrix.count == n * n, "\(matrix.count) elements for a \(n)×\(n) matrix")
  guard n > 0 else { return [] }
  var a = matrix
  var w = [Double](repeating: 0, count: n)
  var order = Int32(n)
  var lda = Int32(n)
  var info: Int32 = 0
  // Workspace query first, then the call itself.
  var lwork: Int32 = -1
  var optimal = 0.0
  dsyev_("N", "U", &order, &a, &lda, &w, &optimal, &lwork, &info, 1, 1)
  guard info == 0 else { return nil }
  lwork = max(Int32(optimal), 3 * Int32(n))
  var work = [Double](repeating: 0, count: Int(lwork))
  dsyev_("N", "U", &order, &a, &lda, &w, &work, &lwork, &info, 1, 1)
  return info == 0 ? w : nil
}
