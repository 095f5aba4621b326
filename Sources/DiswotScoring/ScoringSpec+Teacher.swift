import DiswotModels

extension ScoringSpec {
  /// The teacher when neither a weights file nor an architecture of the space names it.
  public static let defaultTeacher = "resnet56"

  /// The teacher of a spec without weights, checked and not built: `teacher.name`
  /// (`ModelName`'s scheme, default `resnet56`) with the spec's classes (else the
  /// space's) and, for a ResNet, `teacher.shortcut` (default A). `loadSpace` finds a
  /// space the name refers to (the daemon passes its data root's rules).
  public func namedTeacher(
    space: SearchSpace, loadSpace: (String) throws -> SearchSpace = ModelName.loadSpace
  ) throws -> ResolvedModel {
    guard let shortcut = ShortcutType(rawValue: (teacher.shortcut ?? "A").uppercased()) else {
      throw ScoringError.invalidArgument("teacher shortcut must be A or B, got \(teacher.shortcut!)")
    }
    return try ModelName(parsing: teacher.name ?? Self.defaultTeacher).resolve(
      classCount: classes ?? space.classCount, shortcut: shortcut, inputChannels: space.inputShape[0], loadSpace: loadSpace)
  }
}
