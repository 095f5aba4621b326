import DiswotModels

extension ScoringSpec {
  /// The memory budget of this spec's networks under `limit`: its probe batch, and the
  /// classes it names or the space's (the same on every machine, so the daemon and the
  /// local search refuse the same architectures under the same limit).
  public func memoryBudget(space: SearchSpace, limit: MemoryLimit) -> MemoryBudget {
    MemoryBudget(limit: limit, batch: batch, classCount: classes ?? space.classCount)
  }

  /// Refuses, before anything is built, a set-up whose networks cannot fit under `limit`:
  /// a teacher over the limit, an `ensemble` whose reference sample holds an architecture
  /// over it (the calibration scores every one), or a space whose cheapest architecture is
  /// over it (then nothing could be scored). Single architectures over the limit are the
  /// caller's to skip: `CostModel` treats them as infeasible, `ScoringSession.evaluate`
  /// refuses them.
  public func checkMemory(space: SearchSpace, limit: MemoryLimit) throws(ScoringError) {
    let budget = memoryBudget(space: space, limit: limit)
    let teacherFootprint: MemoryFootprint?
    if let arch = teacher.arch {
      teacherFootprint = (try? space.genotype(fromJSON: arch)).flatMap { try? space.footprint(of: $0, classCount: budget.classCount) }
    } else if teacher.weights == nil || teacher.name != nil {
      teacherFootprint = try? namedTeacher(space: space).footprint(height: space.inputShape[1], width: space.inputShape[2])
    } else {
      teacherFootprint = nil  // only the file names it: checked once it is read
    }
    if let footprint = teacherFootprint, let why = budget.refusal(footprint, of: "the teacher") {
      throw .tooLarge(why)
    }
    if proxies.contains(.ensemble) {
      for g in ScoringSession.referenceSample(space: space, reference: reference) {
        if let why = budget.refusal(of: g, in: space) {
          throw .tooLarge("the ensemble's reference sample (reference seed \(reference.seed)) holds an architecture it cannot score: \(why)")
        }
      }
    }
    let cheapest = space.cheapest { g in budget.bytes(of: g, in: space).map(Double.init) ?? .infinity }
    if let why = budget.refusal(of: cheapest, in: space) {
      throw .tooLarge("no architecture of \(space.name) fits: even the smallest, \(why)")
    }
  }
}
