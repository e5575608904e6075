Feature: The 1280×720 version, turned upside down
  Every accepted image becomes exactly 1280×720 pixels, rotated 180°. EXIF
  orientation is applied first, metadata never leaves, transparency survives.

  Background:
    Given I am signed in as "alice"

  @smoke
  Scenario: The picture is turned half way round
    When I upload a landscape photo as "image/jpeg"
    And processing has finished
    Then the transformed image is a 1280×720 "image/jpeg"
    And its corners, clockwise from the top left, are white, blue, red and green

  Scenario: A phone photo stands the right way up before it is turned
    When I upload a phone photo whose EXIF says "rotate 90° clockwise" as "image/jpeg"
    Then the original is recorded as a 180×320 "image/jpeg"
    When processing has finished
    Then its corners, clockwise from the top left, are green, white, blue and red

  Scenario: Location and camera data never leave
    When I upload a phone photo whose EXIF says "rotate 90° clockwise" as "image/jpeg"
    And processing has finished
    Then the transformed image carries no metadata

  Scenario: Transparency is kept as PNG
    When I upload a transparent PNG as "image/png"
    And processing has finished
    Then the transformed image is a 1280×720 "image/png"
    And its bottom-right corner is transparent

  Scenario: An animation becomes its first frame
    When I upload an animated GIF as "image/gif"
    And processing has finished
    Then the transformed image is red in the middle

  Scenario Outline: Each fit mode
    Given the service fits images by "<fit>"
    When I upload a wide banner as "image/png"
    And processing has finished
    Then the transformed image is a 1280×720 "image/jpeg"
    And the pixel at the top centre is <top centre>

    Examples:
      | fit     | top centre |
      | cover   | picture    |
      | fill    | picture    |
      | contain | black      |
