// swift-tools-version:6.0
import PackageDescription

// MARK: - System libraries (C, from Debian packages; Scripts/bootstrap.sh installs them)

/// OpenBLAS and its bundled LAPACK. Only DiswotTensor imports it: every other target calls
/// BLAS and LAPACK through DiswotTensor's `BLAS` and `LAPACK` (BLAS.swift).
let cOpenBLAS = Target.systemLibrary(
  name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
  providers: [.apt(["libopenblas-dev"])])
/// ZeroMQ (with CURVE): the daemon's client, worker and event sockets. No pkg-config:
/// libzmq's adds `-isystem` flags SwiftPM refuses, and zmq.h is on the default path.
let cZeroMQ = Target.systemLibrary(
  name: "CZeroMQ", path: "Sources/CZeroMQ", providers: [.apt(["libzmq3-dev"])])
/// libjpeg-turbo and libpng: JPEG and PNG images of `folder:DIR` datasets. The shims hold
/// the C side of decoding, setjmp included, so a corrupt file never longjmps through Swift.
let cJPEG = Target.systemLibrary(
  name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])])
let cPNG = Target.systemLibrary(
  name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])])
/// SQLite: the daemon's durable state.
let cSQLite = Target.systemLibrary(
  name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
  providers: [.apt(["libsqlite3-dev"])])

// MARK: - Libraries

/// Crash-safe file reads, atomic replacement and flushed appends (POSIX).
let files = Target.target(name: "DiswotFiles")
/// An untyped JSON value, for readers that validate field by field and ad-hoc output.
let json = Target.target(name: "DiswotJSON")

/// Tensors, kernels (convolution, batch norm, pooling, …) and safetensors I/O.
/// `-Ounchecked` in release builds only: the kernels validate shapes up front. Debug
/// builds (what `swift test` runs) optimise the kernels too — unoptimised they make the
/// training and daemon tests several times slower — but keep every check, the
/// debug-only ones included (`-assert-config Debug`: bounds of unsafe buffer pointers,
/// preconditions), so an out-of-range read in a kernel traps instead of returning garbage.
let tensor = Target.target(
  name: "DiswotTensor", dependencies: ["COpenBLAS", "DiswotJSON", "DiswotFiles"],
  swiftSettings: [
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
    .unsafeFlags(["-O", "-assert-config", "Debug"], .when(configuration: .debug)),
  ])
/// Layers, CIFAR ResNets and other model families, parameter naming and counting.
let models = Target.target(name: "DiswotModels", dependencies: ["DiswotTensor", "DiswotJSON"])
/// The DisWOT score, zero-cost proxies, probe batches and rank correlations.
let scoring = Target.target(
  name: "DiswotScoring", dependencies: ["DiswotTensor", "DiswotModels", "DiswotData", "DiswotJSON", "DiswotFiles"])
/// The search engine: aging evolution and random search as a checkpointable state machine.
let search = Target.target(name: "DiswotSearch", dependencies: ["DiswotTensor", "DiswotModels"])
/// Knowledge-distillation losses, optimisers and the trainer.
let distillation = Target.target(
  name: "DiswotDistillation",
  dependencies: ["DiswotTensor", "DiswotModels", "DiswotScoring", "DiswotData", "DiswotJSON", "DiswotFiles"])
/// Dataset readers (CIFAR-10/100 binary, MNIST IDX, image folders of JPEG and PNG files),
/// PIL-exact resizing and torchvision's transforms, and input normalisation.
let data = Target.target(name: "DiswotData", dependencies: ["DiswotTensor", "CJPEG", "CPNG"])
/// Self-contained HTML reports (inline SVG charts, no script) of searches, ranking quality
/// and training runs: `diswot report` writes them, `diswotd --http` serves them.
let report = Target.target(name: "DiswotReport", dependencies: ["DiswotJSON", "DiswotScoring", "DiswotSearch"])
/// The daemon's durable state in SQLite (WAL).
let store = Target.target(name: "DiswotStore", dependencies: ["CSQLite", "DiswotJSON"])
/// ZeroMQ sockets, CURVE/ZAP and the versioned diswot wire protocol.
let wire = Target.target(name: "DiswotWire", dependencies: ["CZeroMQ", "DiswotJSON"])
/// Argument parsing and terminal conventions shared by every executable.
/// Diagnostics on standard error for every process: the service library logs without the
/// command-line module.
let log = Target.target(name: "DiswotLog")
let commandLine = Target.target(name: "DiswotCommandLine", dependencies: ["DiswotJSON", "DiswotLog"])

// MARK: - The service (diswotd and its workers, as a library so tests reach it)

/// The daemon's event loop (client, worker and event sockets; searches fed to workers;
/// training jobs; durable state) and the worker's loop (Paranoid Pirate, scoring sessions,
/// the trainer on a background thread). `diswotd` and `diswot-worker` are thin mains over it.
let daemon = Target.target(
  name: "DiswotDaemon",
  dependencies: [
    "DiswotWire", "DiswotStore", "DiswotSearch", "DiswotScoring", "DiswotModels", "DiswotDistillation", "DiswotData",
    "DiswotTensor", "DiswotJSON", "DiswotFiles", "DiswotLog", "DiswotReport",
  ])

// MARK: - Executables

/// `diswot`: the user's command-line tool (local commands, and the daemon's client).
let diswot = Target.executableTarget(
  name: "diswot",
  dependencies: [
    "DiswotTensor", "DiswotModels", "DiswotData", "DiswotScoring", "DiswotSearch", "DiswotDistillation", "DiswotJSON",
    "DiswotCommandLine", "DiswotWire", "DiswotFiles", "DiswotReport",
  ])
/// `diswotd`: the daemon. Serves clients, farms candidates out to workers, keeps state in SQLite.
let diswotd = Target.executableTarget(
  name: "diswotd", dependencies: ["DiswotDaemon", "DiswotCommandLine", "DiswotWire", "DiswotModels"])
/// `diswot-worker`: an evaluator process (scoring and training) that connects to diswotd.
let worker = Target.executableTarget(
  name: "diswot-worker", dependencies: ["DiswotDaemon", "DiswotCommandLine", "DiswotWire", "DiswotModels"])
/// `diswot-bench`: performance measurements behind Scripts/bench.sh.
let bench = Target.executableTarget(
  name: "diswot-bench",
  dependencies: [
    "DiswotTensor", "DiswotModels", "DiswotScoring", "DiswotDistillation", "DiswotData", "DiswotCommandLine", "DiswotWire",
    "DiswotJSON",
  ])

// MARK: - Test helpers

/// `diswot-store-crashtest`: writes evaluations in a loop until killed; DiswotStoreTests
/// `kill -9`s it mid-write to prove the store survives. Not a product; tests only.
let storeCrashTest = Target.executableTarget(
  name: "diswot-store-crashtest", dependencies: ["DiswotStore", "DiswotJSON"])

// MARK: - Tests

/// Helpers shared by every test target: ../shared lookup, numeric comparison.
let testSupport = Target.target(
  name: "DiswotTestSupport", dependencies: ["DiswotTensor"], path: "Tests/DiswotTestSupport")
let tensorTests = Target.testTarget(
  name: "DiswotTensorTests", dependencies: ["DiswotTensor", "DiswotTestSupport"], resources: [.copy("Fixtures")])
let modelsTests = Target.testTarget(
  name: "DiswotModelsTests",
  dependencies: ["DiswotModels", "DiswotData", "DiswotTestSupport"],
  resources: [.copy("Fixtures")])
let dataTests = Target.testTarget(
  name: "DiswotDataTests", dependencies: ["DiswotData", "DiswotTestSupport"], resources: [.copy("Fixtures")])
let commandLineTests = Target.testTarget(
  name: "DiswotCommandLineTests", dependencies: ["DiswotCommandLine", "DiswotJSON", "DiswotTestSupport"])
let scoringTests = Target.testTarget(
  name: "DiswotScoringTests", dependencies: ["DiswotScoring", "DiswotTestSupport"])
let searchTests = Target.testTarget(
  name: "DiswotSearchTests", dependencies: ["DiswotSearch", "DiswotScoring", "DiswotTestSupport"])
let distillationTests = Target.testTarget(
  name: "DiswotDistillationTests", dependencies: ["DiswotDistillation", "DiswotTestSupport"])
let reportTests = Target.testTarget(name: "DiswotReportTests", dependencies: ["DiswotReport", "DiswotJSON"])
let jsonTests = Target.testTarget(name: "DiswotJSONTests", dependencies: ["DiswotJSON"])
let filesTests = Target.testTarget(name: "DiswotFilesTests", dependencies: ["DiswotFiles"])
let storeTests = Target.testTarget(name: "DiswotStoreTests", dependencies: ["DiswotStore", "DiswotTestSupport"])
let wireTests = Target.testTarget(name: "DiswotWireTests", dependencies: ["DiswotWire", "DiswotTestSupport"])
let cliTests = Target.testTarget(name: "diswotTests", dependencies: ["DiswotTestSupport"], resources: [.copy("Fixtures")])
/// The daemon, workers and client as real processes on loopback (kill -9, restarts,
/// malformed requests, CURVE); reads the store directly to check exactly-once scoring.
let daemonTests = Target.testTarget(
  name: "DiswotDaemonTests",
  dependencies: [
    "DiswotDaemon", "DiswotWire", "DiswotStore", "DiswotSearch", "DiswotModels", "DiswotScoring", "DiswotJSON", "DiswotTestSupport",
  ])

// MARK: - Package

let package = Package(
  name: "diswot",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "diswot", targets: ["diswot"]),
    .executable(name: "diswotd", targets: ["diswotd"]),
    .executable(name: "diswot-worker", targets: ["diswot-worker"]),
    .library(name: "DiswotModels", targets: ["DiswotModels"]),
  ],
  targets: [
    cOpenBLAS, cZeroMQ, cSQLite, cJPEG, cPNG,
    files, json, tensor, models, data, scoring, search, distillation, report, store, wire, log, commandLine, daemon,
    diswot, diswotd, worker, bench, storeCrashTest,
    testSupport, tensorTests, modelsTests, dataTests, commandLineTests, reportTests, scoringTests, searchTests, distillationTests, jsonTests, filesTests, storeTests, wireTests, cliTests,
    daemonTests,
  ]
)
