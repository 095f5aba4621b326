/// One architecture of a search space, as the option chosen at every position.
///
/// `choices[c][p]` is the index, into the space's option list, of what position `p` of
/// choice `c` takes. Indices make sampling, enumeration and mutation uniform across
/// families; the space turns a genotype into user-facing JSON, a canonical key and a
/// network. A genotype is only meaningful together with its space.
public struct Genotype: Sendable, Hashable, Codable {
  public var choices: [[Int]]

  public init(choices: [[Int]]) { self.choices = choices }
}
