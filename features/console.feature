@browser
Feature: The web console
  People who look at images use flipframe from a browser. They sign in on
  the sign-in page, drop photos, watch them turn into their 1280×720
  upside-down versions and download both, without writing a line of curl.

  Scenario: Dropping photos and watching them turn
    Given I open the console
    When I sign in as "alice" on the sign-in page
    And I drop a photo, a transparent PNG and a text file named "notes.jpg"
    Then "notes.jpg" is refused next to its name because it is "not an image"
    And the photo and the PNG turn "done" without the page reloading
    And the console shows each of them as a 1280×720 picture
    And downloading the photo's original gives back exactly the file I dropped

  Scenario: Finding my failed uploads
    Given I open the console
    And I sign in as "bob" on the sign-in page
    And I drop a text file named "notes.jpg"
    When I filter the log to "failed" uploads by me
    Then the log lists only "notes.jpg", as "failed"

  Scenario: Signing out
    Given I open the console
    And I sign in as "carol" on the sign-in page
    When I sign out
    Then the console asks me to sign in again
    And the browser keeps no token of mine
