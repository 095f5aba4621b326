import XCTest
final class PDiswotModelsTestsTests: XCTestCase { func testNothing() {} }
