Feature: External systems with a fixed token
  A partner system holds a long random token. It may download transformed
  images and nothing else. Only the token's hash is configured; several tokens
  can be valid at once so one can be rotated without downtime.

  Background:
    Given the partner token "partner-a" is configured
    And I am signed in as "alice"
    And I have uploaded a landscape photo that is processed

  @smoke
  Scenario Outline: The partner downloads the transformed image
    When the partner downloads the transformed image with its token in <header>
    Then the download succeeds with a 1280×720 "image/jpeg"

    Examples:
      | header                  |
      | the Authorization header |
      | the X-Api-Key header     |

  Scenario Outline: The partner may do nothing else
    When the partner calls <route> with its token
    Then the request is refused with status 403 and code "forbidden"

    Examples:
      | route                  |
      | the upload route       |
      | the log                |
      | the log entry          |
      | the original download  |

  Scenario: A token unknown to the service is refused
    When a stranger downloads the transformed image with a made-up token
    Then the request is refused with status 401 and code "invalid_credentials"

  Scenario: Rotating a partner's token without downtime
    Given the partner token "partner-a" is being replaced by "partner-a-2"
    When the partner downloads the transformed image with its old token
    Then the download succeeds with a 1280×720 "image/jpeg"
    When the partner downloads the transformed image with its new token
    Then the download succeeds with a 1280×720 "image/jpeg"

  Scenario: A revoked token stops working
    Given the partner token "partner-a" has been revoked
    When the partner downloads the transformed image with its old token
    Then the request is refused with status 401 and code "invalid_credentials"
