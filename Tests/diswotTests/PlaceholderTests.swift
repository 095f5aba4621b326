import XCTest
final class PdiswotTestsTests: XCTestCase { func testNothing() {} }
