Feature: Uploading photos
  Signed-in users upload photos. flipframe keeps the original exactly as sent,
  answers at once, and makes the 1280×720 upside-down version in the background.

  Background:
    Given I am signed in as "alice"

  @smoke
  Scenario: Uploading a photo as the request body
    When I upload a landscape photo as "image/jpeg"
    Then the upload is accepted
    And the log entry says "pending" and is mine
    And the original is recorded as a 1600×900 "image/jpeg"
    When processing has finished
    Then the log entry says "done"
    And I can download the original exactly as I sent it

  Scenario: Uploading a photo as a multipart form
    When I upload a landscape photo as the form file "holiday.jpg"
    Then the upload is accepted
    And the log entry records the file name "holiday.jpg"
    When processing has finished
    Then the log entry says "done"

  Scenario: Naming the upload in the query
    When I upload a landscape photo as "image/jpeg" named "cat.jpg"
    Then the log entry records the file name "cat.jpg"

  Scenario: A file name is reduced to its last part
    When I upload a landscape photo as the form file "../../etc/passwd.jpg"
    Then the log entry records the file name "passwd.jpg"

  Scenario Outline: Every accepted format is processed
    When I upload <image> as "<declared type>"
    Then the upload is accepted
    And the original is recorded as a "<detected type>"
    When processing has finished
    Then the log entry says "done"
    And the transformed image is a 1280×720 "<output type>"

    Examples:
      | image             | declared type            | detected type | output type |
      | a landscape photo | image/jpeg               | image/jpeg    | image/jpeg  |
      | a PNG graphic     | image/png                | image/png     | image/jpeg  |
      | a WebP picture    | image/webp               | image/webp    | image/jpeg  |
      | an animated GIF   | image/gif                | image/gif     | image/jpeg  |
      | a BMP picture     | image/bmp                | image/bmp     | image/jpeg  |
      | a TIFF picture    | image/tiff               | image/tiff    | image/jpeg  |
      | a transparent PNG | image/png                | image/png     | image/png   |
      | a landscape photo | application/octet-stream | image/jpeg    | image/jpeg  |

  @aws @smoke
  Scenario: A large photo goes straight to object storage through a presigned upload
    When I start a presigned upload for "panorama.jpg"
    Then I receive an upload URL and a pending log entry
    When I send a landscape photo to the upload URL
    And processing has finished
    Then the log entry says "done"
    And the original is recorded as a 1600×900 "image/jpeg"
    And the transformed image is a 1280×720 "image/jpeg"

  @aws
  Scenario: A presigned upload that is not an image is refused after it arrives
    When I start a presigned upload for "notes.txt"
    And I send a text file to the upload URL
    And processing has finished
    Then the log entry says "failed" with the code "unsupported_format"
    And nothing is stored for it

  @embedded
  Scenario: Presigned uploads exist only on object storage
    When I start a presigned upload for "panorama.jpg"
    Then the request is refused with status 404 and code "not_found"
