Feature: Signing in with Amazon Cognito
  Every /v1 route needs credentials. Users present Cognito access or ID tokens;
  flipframe checks the signature against the pool's published keys, the
  issuer, the times and the app client the token was made for.

  @smoke
  Scenario Outline: Tokens that are accepted
    Given I hold <token>
    When I read the log
    Then the request succeeds

    Examples:
      | token                                        |
      | a Cognito access token                       |
      | a Cognito ID token                           |
      | an access token that expired 30 seconds ago  |

  Scenario Outline: Tokens that are refused
    Given I hold <token>
    When I read the log
    Then the request is refused with status 401 and code "invalid_credentials"
    And the answer asks for a bearer token

    Examples:
      | token                                          |
      | an expired access token                        |
      | an access token that is not valid yet          |
      | an access token for another app client         |
      | an ID token for another app client             |
      | an access token from another user pool         |
      | a token signed with a key the pool never published |
      | a token signed with HS256 using the public key |
      | an unsigned token                              |
      | a token whose payload was changed              |
      | a truncated token                              |
      | a refresh token                                |
      | a valid access token and an X-Api-Key at once  |
      | a valid access token sent twice                |
      | an external token shorter than any the service issues |

  Scenario: No credentials at all
    When I read the log without credentials
    Then the request is refused with status 401 and code "unauthenticated"
    And the answer asks for a bearer token

  Scenario: The uploader is the signed-in Cognito user
    Given I hold a Cognito ID token for "dave" with the e-mail "dave@example.com"
    When I upload a landscape photo as "image/jpeg"
    Then the log entry names "dave" with the e-mail "dave@example.com" as uploader

  @serial
  Scenario: Keys rotated at the issuer are picked up without a restart
    Given the user pool starts signing with a new key it has not published yet
    And I hold a Cognito access token
    When I read the log
    Then the request is refused with status 401 and code "invalid_credentials"
    When the user pool publishes its new key
    And I read the log
    Then the request succeeds

  @moto-cognito
  Scenario: Signing in through the Cognito user pool API
    Given a user "frank" with a password exists in the moto user pool
    When "frank" signs in with his password
    And I read the log
    Then the request succeeds
