Feature: The processing log
  Every upload has an entry: who uploaded it, where it is in its lifecycle
  (pending → processing → done or failed), and what went wrong if it failed.

  Background:
    Given I am signed in as "alice"

  Scenario: The lifecycle of an upload
    When I upload a landscape photo as "image/jpeg"
    Then the log entry says "pending" and is mine
    When processing has finished
    Then the log entry says "done"
    And the log entry describes both versions with their sizes and checksums

  Scenario: The transformed version is not ready while the upload is pending
    Given the service runs no background processing
    When I upload a landscape photo as "image/jpeg"
    Then downloading its transformed version is refused with status 409 and code "not_ready"
    And the answer asks me to retry later

  Scenario: A failure is recorded with its details
    When I upload a truncated JPEG as "image/jpeg"
    Then the log shows my upload as "failed" with the code "undecodable_image"

  Scenario: Several users share one log and each entry names its uploader
    Given "bob" is signed in too
    When I upload a landscape photo as "image/jpeg"
    And "bob" uploads a PNG graphic
    Then the log filtered by uploader "bob" shows only bob's uploads
    And the log filtered by uploader "alice" shows only my uploads

  Scenario: Filtering by status
    When I upload a landscape photo as "image/jpeg"
    And I upload a text file as "text/plain"
    Then the log filtered by status "failed" shows only failed entries

  Scenario: Paging through the log newest first
    Given I have uploaded 5 photos
    When I read my uploads 2 at a time
    Then I get 3 pages with all 5 photos, newest first, each once

  Scenario Outline: Bad log queries are explained
    When I read the log with "<query>"
    Then the request is refused with status 400 and code "bad_request"

    Examples:
      | query           |
      | limit=0         |
      | limit=1000      |
      | status=sleeping |
      | cursor=forged   |

  Scenario: An unknown image is not found
    When I ask for an image that does not exist
    Then the request is refused with status 404 and code "not_found"
