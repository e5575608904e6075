Feature: Only images get in
  flipframe looks at the bytes, never at the name or the declared type. Whatever
  is refused gets a clear answer, leaves nothing in storage, and is recorded in
  the log as failed with its reason.

  Background:
    Given I am signed in as "alice"

  Scenario Outline: Refusing what is not an acceptable image
    When I upload <input> as "<declared type>"
    Then the request is refused with status <status> and code "<code>"
    And the answer explains the problem
    And nothing is stored for it
    And the log shows my upload as "failed" with the code "<code>"

    Examples:
      | input                   | declared type   | status | code                  |
      | an empty file           | image/jpeg      | 400    | empty_body            |
      | a text file             | text/plain      | 415    | unsupported_format    |
      | an SVG drawing          | image/svg+xml   | 415    | svg_not_accepted      |
      | a PDF document          | application/pdf | 415    | unsupported_format    |
      | a PNG graphic           | image/jpeg      | 415    | content_type_mismatch |
      | a truncated JPEG        | image/jpeg      | 400    | undecodable_image     |
      | a decompression bomb    | image/png       | 400    | dimensions_exceeded   |
      | a GIF with 2000 frames  | image/gif       | 400    | too_many_frames       |

  @smoke
  Scenario: An SVG in disguise is still an SVG
    When I upload an SVG drawing as "image/png"
    Then the request is refused with status 415 and code "svg_not_accepted"

  Scenario: Bodies over the size limit are refused without being read
    When I upload a 30 MiB file as "image/jpeg"
    Then the request is refused with status 413 and code "body_too_large"
    And nothing is stored for it

  Scenario: A refused upload has nothing to download
    When I upload a text file as "text/plain"
    Then downloading its transformed version is refused with status 422 and code "processing_failed"
    And the answer carries the failure code "unsupported_format"
