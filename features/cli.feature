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
