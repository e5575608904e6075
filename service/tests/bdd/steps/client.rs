//! The `flipframe` client commands, run as a person runs them.

use crate::support::cli_client::{Run, flipframe_fed};
use crate::support::images::{jpeg, quadrants};
use crate::world::FlipframeWorld;
use cucumber::{given, then, when};

impl FlipframeWorld {
    async fn endpoint(&self) -> String {
        self.service()
            .await
            .base_url()
            .expect("client scenarios run on targets with a listener")
            .to_owned()
    }

    async fn run_client(&mut self, args: &[&str]) -> &Run {
        self.run_client_fed(args, "").await
    }

    /// A client command with `stdin` typed at it.
    async fn run_client_fed(&mut self, args: &[&str], stdin: &str) -> &Run {
        let endpoint = self.endpoint().await;
        let config = self
            .client_config
            .get_or_insert_with(|| tempfile::tempdir().unwrap());
        let run = flipframe_fed(config.path(), &endpoint, args, stdin).await;
        self.client_run = Some(run);
        self.client_run.as_ref().unwrap()
    }

    fn client_run(&self) -> &Run {
        self.client_run.as_ref().expect("a client command ran")
    }
}

#[given(expr = "I signed in with the flipframe command as {string}")]
async fn login(world: &mut FlipframeWorld, name: String) {
    world.me = world.username(&name);
    let me = world.me.clone();
    let run = world.run_client(&["login", "--user", &me]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[when(regex = r#"^"(.+)" signs in with the flipframe command and (?:his|her|their) password$"#)]
async fn login_with_password(world: &mut FlipframeWorld, name: String) {
    world.me = world.username(&name);
    let me = world.me.clone();
    let password = format!("{}\n", world.passwords[&name]);
    let args = ["login", "--username", &me, "--password-stdin"];
    let run = world.run_client_fed(&args, &password).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[when(regex = r#"^"(.+)" signs in with the flipframe command and a wrong password$"#)]
async fn login_with_wrong_password(world: &mut FlipframeWorld, name: String) {
    let username = world.username(&name);
    let args = ["login", "--username", &username, "--password-stdin"];
    world.run_client_fed(&args, "not-the-password\n").await;
}

#[when("the saved sign-in runs out")]
async fn sign_in_runs_out(world: &mut FlipframeWorld) {
    let path = world
        .client_config
        .as_ref()
        .unwrap()
        .path()
        .join("credentials.json");
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for profile in saved["profiles"].as_object_mut().unwrap().values_mut() {
        profile["expires_at"] = chrono::Utc::now().timestamp().into();
        // A token the service would refuse: only a refresh can make the next command work.
        profile["access_token"] = "expired".into();
    }
    std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
}

#[given(expr = "I have a folder of {int} photos and {int} files that are not images")]
async fn folder(world: &mut FlipframeWorld, photos: u32, others: u32) {
    let folder = world
        .files
        .get_or_insert_with(|| tempfile::tempdir().unwrap());
    for n in 0..photos {
        let image = jpeg(&quadrants(320 + n * 16, 200 + n * 9));
        std::fs::write(folder.path().join(format!("photo-{n}.jpg")), image).unwrap();
    }
    for n in 0..others {
        std::fs::write(folder.path().join(format!("notes-{n}.jpg")), "a list").unwrap();
    }
}

#[when("I upload the folder with the flipframe command and wait")]
async fn upload(world: &mut FlipframeWorld) {
    let folder = world.files.as_ref().unwrap().path().display().to_string();
    world
        .run_client(&["upload", &folder, "--wait", "--json"])
        .await;
}

#[then(expr = "the command exits with code {int}")]
async fn exit_code(world: &mut FlipframeWorld, code: i32) {
    let run = world.client_run();
    assert_eq!(run.code, code, "{}\n{}", run.stdout, run.stderr);
}

#[then(expr = "it reports {int} files {string} and {int} {string} because they are {string}")]
async fn reports(
    world: &mut FlipframeWorld,
    good: usize,
    good_status: String,
    bad: usize,
    bad_status: String,
    reason: String,
) {
    let lines = world.client_run().lines();
    let with = |status: &str| lines.iter().filter(|l| l["status"] == status).count();
    assert_eq!(
        (with(&good_status), with(&bad_status)),
        (good, bad),
        "{lines:#?}"
    );
    for line in lines.iter().filter(|l| l["status"] == bad_status.as_str()) {
        assert!(
            line["reason"]
                .as_str()
                .unwrap_or_default()
                .contains(&reason),
            "{line}"
        );
    }
}

#[then(expr = "the log lists {int} uploads of mine")]
async fn log_lists(world: &mut FlipframeWorld, count: usize) {
    let me = world.me.clone();
    let run = world
        .run_client(&["log", "--uploader", &me, "--limit", "100", "--json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines().len(), count, "{}", run.stdout);
}

#[when("I fetch the photo's 1280×720 version with the flipframe command")]
async fn fetch(world: &mut FlipframeWorld) {
    let id = world.client_run().lines()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = world.files.as_ref().unwrap().path().join("flipped.jpg");
    let target = target.display().to_string();
    let run = world.run_client(&["get", &id, "-o", &target]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    world.downloaded = std::fs::read(&target).unwrap();
}

#[then("the file it wrote is a 1280×720 picture")]
async fn picture(world: &mut FlipframeWorld) {
    let image = image::load_from_memory(&world.downloaded).unwrap();
    assert_eq!((image.width(), image.height()), (1280, 720));
}

#[when("I list the log with the flipframe command")]
async fn list(world: &mut FlipframeWorld) {
    world.run_client(&["log", "--json"]).await;
}

#[when("I list the log with the flipframe command without signing in")]
async fn unsigned(world: &mut FlipframeWorld) {
    world.run_client(&["log"]).await;
}

#[then(expr = "it tells me to run {string}")]
async fn tells(world: &mut FlipframeWorld, command: String) {
    let run = world.client_run();
    assert!(run.stderr.contains(&command), "{}", run.stderr);
}

#[then(expr = "it says {string}")]
async fn says(world: &mut FlipframeWorld, words: String) {
    let run = world.client_run();
    assert!(run.stderr.contains(&words), "{}", run.stderr);
}

#[then(expr = "it lists {int} upload(s) of {string}")]
async fn lists_uploads_of(world: &mut FlipframeWorld, count: usize, name: String) {
    let uploader = world.username(&name);
    let lines = world.client_run().lines();
    let theirs = lines
        .iter()
        .filter(|l| l["uploader"]["username"] == uploader.as_str())
        .count();
    assert_eq!(theirs, count, "{lines:#?}");
}
