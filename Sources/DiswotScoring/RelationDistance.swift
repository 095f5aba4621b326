import DiswotTensor

/// ‖Q(S) − Q(T)‖²_F / B² between two relation matrices of the same probe batch.
/// student, teacher: [B, B] (`relationMatrix`)
public func relationDistance(student: Tensor, teacher: Tensor) throws(ScoringError) -> Double {
  guard student.rank == 2, student.shape[0] == student.shape[1], student.shape == teacher.shape,
    student.count > 0
  else {
    throw .shapeMismatch("relation matrices \(student.shape) (student) and \(teacher.shape) (teacher) must both be [B, B] for the same B > 0")
  }
  var sum = 0.0
  for i in 0..<student.count {
    let d = Double(student.storage[i]) - Double(teacher.storage[i])
    sum += d * d
  }
  return sum / Double(student.count)
}
