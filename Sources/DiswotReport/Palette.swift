/// Okabe & Ito's colour-blind-safe palette ("Color Universal Design", 2008): the eight
/// colours stay distinct under protanopia, deuteranopia and tritanopia. Marks differ by
/// shape or size as well as colour wherever the distinction matters (the chosen student is
/// a larger ringed mark, the front a line), so nothing depends on hue alone.
public enum Palette {
  public static let black = "#000000"
  public static let orange = "#E69F00"
  public static let skyBlue = "#56B4E9"
  public static let bluishGreen = "#009E73"
  public static let yellow = "#F0E442"
  public static let blue = "#0072B2"
  public static let vermillion = "#D55E00"
  public static let reddishPurple = "#CC79A7"
  /// Series colours in order (yellow last: it is hard to see on white).
  public static let series = [blue, vermillion, bluishGreen, orange, reddishPurple, skyBlue, black, yellow]

  public static func series(_ index: Int) -> String { series[index % series.count] }
}
