import DiswotData
import DiswotJSON
import DiswotModels

/// Everything that determines a scoring run, as data: the command line builds one from
/// its options and the daemon will send one to its workers, so both score identically.
public struct ScoringSpec: Sendable, Codable, Equatable {
  /// Which network the students are compared with.
  public struct Teacher: Sendable, Codable, Equatable {
    /// A named model (`resnet56`), or nil when `arch` gives an architecture of the space.
    public var name: String?
    /// An architecture of the search space (its JSON genotype) used as the teacher.
    public var arch: JSONValue?
    /// Pretrained weights; nil scores against a randomly initialised teacher, as the
    /// published DisWOT search code does.
    public var weights: String?
    /// Shortcut type of a named ResNet teacher without weights (default A).
    public var shortcut: String?

    public init(name: String? = nil, arch: JSONValue? = nil, weights: String? = nil, shortcut: String? = nil) {
      self.name = name
      self.arch = arch
      self.weights = weights
      self.shortcut = shortcut
    }
  }

  /// Search-space path or name.
  public var space: String
  public var teacher: Teacher
  /// `gaussian` or a dataset spec (`cifar10:DIR`); real data is drawn from its train split.
  public var data: String
  public var batch: Int
  /// Class count; nil takes the teacher weights' or the space's.
  public var classes: Int?
  public var proxies: [Proxy]
  public var seed: UInt64
  /// Student initialisations averaged per candidate.
  public var repeats: Int
  /// Probe batches averaged per candidate: the first is drawn with `seed`, the others
  /// with seeds derived from it (`probeSeed`); each has its own teacher reference.
  public var probes: Int
  public var initialization: String
  public var forceClassGram: Bool
  /// The reference sample that calibrates the `ensemble` proxy (unused by the others).
  public var reference: Reference
  /// An image folder's shorter side before the centre crop to the space's input size
  /// (nil: round(size·8/7), torchvision's 256-for-224 ratio). Absent from the JSON when
  /// nil, like `skipBadImages`, so specs that do not use them encode as before.
  public var resize: Int?
  /// Leave undecodable images out of probe batches (drawing replacements), counted in the
  /// probe's source; nil or false: the first bad image is an error naming it.
  public var skipBadImages: Bool?

  /// Whether bad images are skipped.
  public var skipsBadImages: Bool { skipBadImages ?? false }

  /// Which architectures calibrate the ensemble: `size` drawn uniformly from the space
  /// with `seed`. Its own seed, not the run's, so that runs on different probe batches
  /// standardise against the same architectures.
  public struct Reference: Sendable, Codable, Equatable {
    public var size: Int
    public var seed: UInt64

    public init(size: Int = 64, seed: UInt64 = 0) {
      self.size = size
      self.seed = seed
    }

    public static let sizes = 8...4096
  }

  public static let repeatsRange = 1...100
  public static let probesRange = 1...16
  /// `resize`'s accepted values (a folder's shorter side before the crop).
  public static let resizeRange = 8...8192

  /// Student initialisations per candidate when none are asked for: 2 when the ensemble
  /// is among `proxies` (every proxy of the run then averages two), 1 otherwise (the
  /// faithful `diswot` score and the single proxies score one initialisation, as published).
  ///
  /// Why two for the ensemble: a candidate's initialisation is its own (seeded by its key),
  /// so initialisation noise is independent from candidate to candidate and reorders them,
  /// while the probe batch is common to every candidate of a run (common random numbers:
  /// much of its effect shifts all of them alike). Averaging initialisations therefore
  /// removes the noise that matters for the ranking, at the cost of one more scoring per
  /// draw; two is what a 1,000-evaluation search can afford on two cores (Docs/benchmarks.md).
  public static func defaultRepeats(proxies: [Proxy]) -> Int {
    proxies.contains(.ensemble) ? 2 : 1
  }

  /// `repeats` nil takes `defaultRepeats(proxies:)`.
  public init(
    space: String, teacher: Teacher, data: String = "gaussian", batch: Int = 64, classes: Int? = nil,
    proxies: [Proxy] = [.ensemble], seed: UInt64 = 0, repeats: Int? = nil, probes: Int = 1,
    initialization: String = "kaiming-fan-out", forceClassGram: Bool = false, reference: Reference = Reference(),
    resize: Int? = nil, skipBadImages: Bool = false
  ) {
    self.space = space
    self.teacher = teacher
    self.data = data
    self.batch = batch
    self.classes = classes
    self.proxies = proxies
    self.seed = seed
    self.repeats = repeats ?? Self.defaultRepeats(proxies: proxies)
    self.probes = probes
    self.initialization = initialization
    self.forceClassGram = forceClassGram
    self.reference = reference
    self.resize = resize
    self.skipBadImages = skipBadImages ? true : nil
  }

  /// The seed of probe batch k: the run's seed for the first, a hash of it for the rest
  /// (so one run's batches differ, and `probes` 1 draws exactly the batch it always did).
  public func probeSeed(_ k: Int) -> UInt64 {
    guard k > 0 else { return seed }
    var z = seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15  // SplitMix64 finaliser
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Checks the numeric settings and names (everything that needs no file), naming the
  /// first that is out of range. Every path that runs a spec — `score`, `search --local`,
  /// `quality`, the daemon's `search.start` — calls this.
  public func validate() throws(ScoringError) {
    guard (2...ProbeBatch.maxBatch).contains(batch) else {
      throw .invalidArgument("probe batch size must be between 2 and \(ProbeBatch.maxBatch), got \(batch)")
    }
    if let classes, !(2...100_000).contains(classes) {
      throw .invalidArgument("classes must be between 2 and 100000, got \(classes)")
    }
    guard !proxies.isEmpty else { throw .invalidArgument("name at least one proxy") }
    guard Set(proxies).count == proxies.count else { throw .invalidArgument("proxies must not repeat a proxy") }
    guard Self.repeatsRange.contains(repeats) else {
      throw .invalidArgument("repeats must be between 1 and 100, got \(repeats)")
    }
    guard Self.probesRange.contains(probes) else {
      throw .invalidArgument("probes must be between \(Self.probesRange.lowerBound) and \(Self.probesRange.upperBound), got \(probes)")
    }
    guard Reference.sizes.contains(reference.size) else {
      throw .invalidArgument("reference size must be between \(Reference.sizes.lowerBound) and \(Reference.sizes.upperBound), got \(reference.size)")
    }
    if let resize, !Self.resizeRange.contains(resize) {
      throw .invalidArgument("resize must be between \(Self.resizeRange.lowerBound) and \(Self.resizeRange.upperBound), got \(resize)")
    }
    if resize != nil {
      guard case .folder? = try? DataSpec(parsing: data) else {
        throw .invalidArgument("resize applies to image folders (folder:DIR), not \(data)")
      }
    }
    guard InitializationScheme(rawValue: initialization) != nil else {
      throw .invalidArgument("unknown initialisation '\(initialization)' (known: \(InitializationScheme.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
  }

  enum CodingKeys: String, CodingKey {
    case space, teacher, data, batch, classes, proxies, seed, repeats, probes, initialization, reference, resize
    case forceClassGram = "force_class_gram", skipBadImages = "skip_bad_images"
  }

  /// Fields added after the first release (`probes`, `reference`, `resize`,
  /// `skip_bad_images`) may be absent: specs stored by an older daemon still load, with
  /// the values they were run with.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    space = try c.decode(String.self, forKey: .space)
    teacher = try c.decode(Teacher.self, forKey: .teacher)
    data = try c.decode(String.self, forKey: .data)
    batch = try c.decode(Int.self, forKey: .batch)
    classes = try c.decodeIfPresent(Int.self, forKey: .classes)
    proxies = try c.decode([Proxy].self, forKey: .proxies)
    seed = try c.decode(UInt64.self, forKey: .seed)
    repeats = try c.decode(Int.self, forKey: .repeats)
    probes = try c.decodeIfPresent(Int.self, forKey: .probes) ?? 1
    initialization = try c.decode(String.self, forKey: .initialization)
    forceClassGram = try c.decode(Bool.self, forKey: .forceClassGram)
    reference = try c.decodeIfPresent(Reference.self, forKey: .reference) ?? Reference()
    resize = try c.decodeIfPresent(Int.self, forKey: .resize)
    skipBadImages = try c.decodeIfPresent(Bool.self, forKey: .skipBadImages)
  }
}
