import DiswotCommandLine
import DiswotData
import DiswotDistillation
import DiswotModels
import DiswotScoring
import DiswotTensor

// Bad weights, data or architectures are the user's input, not the program's failure:
// they exit with `dataError` so scripts can tell them apart from crashes and bugs.
/// A model name that means nothing is a bad value on the command line (exit 2).
extension ModelError: ExitCodeProviding {
  public var exitCode: ExitCode { if case .unknownModel = self { .usage } else { .dataError } }
}
extension SafetensorsError: ExitCodeProviding { public var exitCode: ExitCode { .dataError } }
extension DatasetError: ExitCodeProviding { public var exitCode: ExitCode { .dataError } }
extension TensorError: ExitCodeProviding { public var exitCode: ExitCode { .dataError } }
extension ScoringError: ExitCodeProviding { public var exitCode: ExitCode { .dataError } }
extension SearchSpaceError: ExitCodeProviding { public var exitCode: ExitCode { .dataError } }
/// A diverged run is a failed computation (exit 1), not bad input.
extension TrainingError: ExitCodeProviding {
  public var exitCode: ExitCode { if case .diverged = self { .failure } else { .dataError } }
}
/// A request the ranking cannot take is a usage error; what its files hold, a data error.
extension TeacherRankingError: ExitCodeProviding {
  public var exitCode: ExitCode { if case .invalidRequest = self { .usage } else { .dataError } }
}
