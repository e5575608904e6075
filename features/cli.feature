@listener
Feature: The command-line client
  People with folders of photos, and the scripts they write, use the
  flipframe command instead of curl: it signs in once, uploads whole folders
  with progress, says which files were refused and why, and fetches results.

  Scenario: Uploading a folder and waiting until it is processed
    Given I signed in with the flipframe command as "alice"
    And I have a folder of 5 photos and 2 files that are not images
    When I upload the folder with the flipframe command and wait
    Then the command exits with code 1
    And it reports 5 files "done" and 2 "refused" because they are "not an image"
    And the log lists 7 uploads of mine

  Scenario: Fetching the upside-down version
    Given I signed in with the flipframe command as "bob"
    And I have a folder of 1 photos and 0 files that are not images
    When I upload the folder with the flipframe command and wait
    Then the command exits with code 0
    When I fetch the photo's 1280×720 version with the flipframe command
    Then the file it wrote is a 1280×720 picture

  Scenario: Using the client without signing in
    When I list the log with the flipframe command without signing in
    Then the command exits with code 2
    And it tells me to run "flipframe login"

  @moto-cognito
  Scenario: Signing in to a Cognito user pool with a password, and staying signed in
    Given a user "frank" with a password exists in the moto user pool
    And I have a folder of 1 photos and 0 files that are not images
    When "frank" signs in with the flipframe command and his password
    And I upload the folder with the flipframe command and wait
    Then the command exits with code 0
    When the saved sign-in runs out
    And I list the log with the flipframe command
    Then the command exits with code 0
    And it lists 1 upload of "frank"

  @moto-cognito
  Scenario: A wrong password is refused with the user pool's reason
    Given a user "gina" with a password exists in the moto user pool
    When "gina" signs in with the flipframe command and a wrong password
    Then the command exits with code 2
    And it says "Incorrect username or password"
