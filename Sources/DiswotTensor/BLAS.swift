import COpenBLAS

// The one door to OpenBLAS and the LAPACK it bundles: every BLAS or LAPACK call in diswot
// goes through `BLAS` and `LAPACK` below, and DiswotTensor is the only target that imports
// COpenBLAS. Row-major throughout; `lda`, `ldb`, `ldc` are the row strides of A, B and C
// as stored. Inside the engine OpenBLAS runs on one thread (`Parallel`).

/// Matrix products (OpenBLAS's CBLAS).
public enum BLAS {
  /// C = alpha · op(A) · op(B) + beta · C in Float (`cblas_sgemm`), op transposing when asked.
  /// A: [m, k] ([k, m] stored when transposed), B: [k, n] ([n, k] when transposed) -> C: [m, n]
  @inline(__always)
  public static func sgemm(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>?, lda: Int, b: UnsafePointer<Float>?, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>?, ldc: Int
  ) {
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
  }

  /// C = alpha · op(A) · op(B) + beta · C in Double (`cblas_dgemm`); shapes as `sgemm`.
  /// A: [m, k], B: [k, n] -> C: [m, n]
  @inline(__always)
  public static func dgemm(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1,
    a: UnsafePointer<Double>?, lda: Int, b: UnsafePointer<Double>?, ldb: Int, beta: Double = 0,
    c: UnsafeMutablePointer<Double>?, ldc: Int
  ) {
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
  }

  /// The upper triangle of C = alpha · A · Aᵀ + beta · C in Float (`cblas_ssyrk`: half the
  /// work of sgemm, Float accumulation); the strictly lower triangle of C is left as it was.
  /// A: [n, k] -> C: [n, n] (upper triangle)
  @inline(__always)
  public static func ssyrkUpper(
    n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>?, lda: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>?, ldc: Int
  ) {
    cblas_ssyrk(
      CblasRowMajor, CblasUpper, CblasNoTrans, blasint(n), blasint(k), alpha, a, blasint(lda), beta, c, blasint(ldc))
  }

  /// The upper triangle of C = alpha · A · Aᵀ + beta · C in Double (`cblas_dsyrk`); the
  /// strictly lower triangle of C is left as it was.
  /// A: [n, k] -> C: [n, n] (upper triangle)
  @inline(__always)
  public static func dsyrkUpper(
    n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>?, lda: Int, beta: Double = 0,
    c: UnsafeMutablePointer<Double>?, ldc: Int
  ) {
    cblas_dsyrk(
      CblasRowMajor, CblasUpper, CblasNoTrans, blasint(n), blasint(k), alpha, a, blasint(lda), beta, c, blasint(ldc))
  }

  /// Sets OpenBLAS's own thread count (see `Parallel.configure` and `withBLASThreads`).
  static func setThreadCount(_ count: Int) {
    openblas_set_num_threads(Int32(count))
  }
}

/// Linear algebra beyond products (the LAPACK bundled with OpenBLAS).
public enum LAPACK {
  /// Eigenvalues of a symmetric row-major matrix, ascending, by `dsyev` (the matrix is
  /// symmetric, so row- and column-major are the same matrix). Returns nil when LAPACK
  /// reports failure to converge or an illegal argument.
  /// matrix: [order, order] -> [order]
  public static func symmetricEigenvalues(_ matrix: [Double], order n: Int) -> [Double]? {
    precondition(n >= 0 && matrix.count == n * n, "\(matrix.count) elements for a \(n)×\(n) matrix")
    var a = matrix, values: [Double] = [], work: [Double] = []
    return symmetricEigenvalues(overwriting: &a, order: n, values: &values, work: &work) ? values : nil
  }

  /// The same without allocating once the buffers are large enough, for callers that solve
  /// many matrices in a loop: `matrix` (its first order² elements, both triangles filled) is
  /// destroyed, the eigenvalues go to `values[0..<order]` ascending, and `work` is LAPACK's
  /// workspace; both grow only when too small. Returns false where the other returns nil.
  public static func symmetricEigenvalues(
    overwriting matrix: inout [Double], order n: Int, values: inout [Double], work: inout [Double]
  ) -> Bool {
    precondition(n >= 0 && matrix.count >= n * n, "\(matrix.count) elements for a \(n)×\(n) matrix")
    guard n > 0 else { return true }
    if values.count < n { values = [Double](repeating: 0, count: n) }
    var order = Int32(n)
    var lda = Int32(n)
    var info: Int32 = 0
    // Workspace query first, then the call itself.
    var lwork: Int32 = -1
    var optimal = 0.0
    dsyev_("N", "U", &order, &matrix, &lda, &values, &optimal, &lwork, &info, 1, 1)
    guard info == 0 else { return false }
    lwork = max(Int32(optimal), 3 * Int32(n))
    if work.count < Int(lwork) { work = [Double](repeating: 0, count: Int(lwork)) }
    dsyev_("N", "U", &order, &matrix, &lda, &values, &work, &lwork, &info, 1, 1)
    return info == 0
  }

}
