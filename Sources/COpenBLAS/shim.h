#include <stddef.h>
#include <cblas.h>

/// LAPACK's symmetric eigensolver (eigenvalues only with jobz = "N"), exported by
/// OpenBLAS's bundled LAPACK. Declared here because Debian's libopenblas-dev ships no
/// lapacke.h; the trailing lengths are gfortran's hidden CHARACTER arguments.
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info,
            size_t jobz_length, size_t uplo_length);
