import DiswotJSON

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
  public var initialization: String
  public var forceClassGram: Bool

  public init(
    space: String, teacher: Teacher, data: String = "gaussian", batch: Int = 64, classes: Int? = nil,
    proxies: [Proxy] = [.diswot], seed: UInt64 = 0, repeats: Int = 1,
    initialization: String = "kaiming-fan-out", forceClassGram: Bool = false
  ) {
    self.space = space
    self.teacher = teacher
    self.data = data
    self.batch = batch
    self.classes = classes
    self.proxies = proxies
    self.seed = seed
    self.repeats = repeats
    self.initialization = initialization
    self.forceClassGram = forceClassGram
  }

  enum CodingKeys: String, CodingKey {
    case space, teacher, data, batch, classes, proxies, seed, repeats, initialization
    case forceClassGram = "force_class_gram"
  }
}
