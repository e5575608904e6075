//! A real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver, by fantoccini), and the console journeys the browser test and
//! the Gherkin console steps share. `just browser-tools` installs Chromium,
//! chromedriver and axe-core.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the console may take to show what a step waits for.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Where `just browser-tools` puts axe-core: beside the build's own files.
pub fn axe_core_script() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("browser-tools/node_modules/axe-core/axe.min.js")
}

/// Screenshots and other artefacts, kept under `target/`.
pub fn artefacts() -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("console-screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    pub downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Chromium is chromedriver's child: killing the driver alone would leave
    /// the browser running, so the whole process group goes.
    fn drop(&mut self) {
        let group = -(self.driver.id() as i32);
        // SAFETY: kill(2) on the group this driver leads; no memory involved.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A fresh headless Chromium with its own profile and download folder.
    pub async fn start(width: u32, height: u32) -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: run `just browser-tools` (apt-get install chromium chromium-driver)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let downloads = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // The machine's network is closed: no background fetches.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
                "prefs": {
                    "download.default_directory": downloads.path().display().to_string(),
                    "download.prompt_for_download": false,
                    // A person clicks "Allow" at the second download; the test cannot.
                    "profile.default_content_setting_values.automatic_downloads": 1,
                },
            },
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("no WebDriver session: {error}"),
            }
        };
        Self {
            client,
            driver,
            downloads,
            _profile: profile,
        }
    }

    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Waits until `script` returns something truthy; answers what it returned.
    /// A script that throws counts as "not yet": while a navigation is under
    /// way the page may be the previous one, or none.
    pub async fn wait_for(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let started = Instant::now();
        loop {
            let (value, error) = match self.client.execute(script, args.clone()).await {
                Ok(value) => (value, None),
                Err(error) => (Value::Null, Some(error)),
            };
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return value;
            }
            if started.elapsed() > PATIENCE {
                let page = self.eval("return document.body.innerText", vec![]).await;
                let error = error.map(|e| format!(" (last script error: {e})"));
                panic!(
                    "waited {PATIENCE:?} for {what}{}; the page shows:\n{page}",
                    error.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking {css}: {error}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"));
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = artefacts().join(name);
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path
    }

    /// Runs axe-core on the page; answers its violations (id: help, nodes).
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = axe_core_script();
        let axe = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "axe-core is missing at {}: run `just browser-tools`",
                path.display()
            )
        });
        self.eval(&axe, vec![]).await;
        let report = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v =>
                        `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)))
                    .catch(e => done([`axe failed: ${e}`]));",
                vec![],
            )
            .await
            .expect("axe runs");
        serde_json::from_value(report).unwrap()
    }

    /// A finished download's bytes, once Chromium has renamed it into place.
    pub async fn downloaded(&self, name: &str) -> Vec<u8> {
        let path = self.downloads.path().join(name);
        let started = Instant::now();
        loop {
            let partial = std::fs::read_dir(self.downloads.path())
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"));
            if path.exists() && !partial {
                return std::fs::read(&path).unwrap();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no download named {name} in {:?}",
                std::fs::read_dir(self.downloads.path())
                    .unwrap()
                    .flatten()
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

/// The console, as a person uses it.
pub struct Console<'a> {
    pub browser: &'a Browser,
    pub base_url: String,
}

/// The log row of a file name, as a JS expression over `arguments[0]`.
const ROW: &str = "[...document.querySelectorAll('#log li.entry')]
    .find(r => r.querySelector('.name').textContent === arguments[0])";

impl Console<'_> {
    pub async fn open(&self) {
        self.browser.client.goto(&self.base_url).await.unwrap();
        self.browser
            .wait_for(
                "the console to load",
                "return document.getElementById('welcome')?.hidden === false
                    || document.getElementById('workspace')?.hidden === false",
                vec![],
            )
            .await;
    }

    /// Signs in through whatever sign-in page the deployment names.
    pub async fn sign_in(&self, username: &str) {
        self.browser.click("#sign-in").await;
        self.browser.type_into("#username", username).await;
        self.browser.click("button[type=submit]").await;
        self.wait_signed_in(username).await;
    }

    pub async fn wait_signed_in(&self, username: &str) {
        let shown = self
            .browser
            .wait_for(
                "the workspace",
                "return document.getElementById('workspace')?.hidden === false
                    && document.getElementById('who').textContent",
                vec![],
            )
            .await;
        assert_eq!(shown, json!(format!("Signed in as {username}")));
    }

    pub async fn choose_files(&self, files: &[PathBuf]) {
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let input = self
            .browser
            .client
            .find(Locator::Css("#files"))
            .await
            .unwrap();
        input.send_keys(&paths.join("\n")).await.unwrap();
    }

    /// What the upload list says next to a file, once it has an outcome.
    pub async fn upload_outcome(&self, name: &str) -> String {
        let script = "const row = [...document.querySelectorAll('#transfers li')]
                .find(r => r.querySelector('.file').textContent === arguments[0]);
            const text = row && row.querySelector('.outcome').textContent;
            return text && !/Waiting|Uploading|retrying/.test(text) ? text : null;";
        let outcome = self
            .browser
            .wait_for(&format!("an outcome for {name}"), script, vec![json!(name)])
            .await;
        outcome.as_str().unwrap().to_owned()
    }

    /// Waits for a file's log row to show `status`, without any reload.
    pub async fn wait_status(&self, name: &str, status: &str) {
        let script =
            format!("const row = {ROW}; return row && row.dataset.status === arguments[1];");
        self.browser
            .wait_for(
                &format!("{name} to be {status}"),
                &script,
                vec![json!(name), json!(status)],
            )
            .await;
    }

    /// The row's text: name, uploader, time, size, dimensions, status, failure.
    pub async fn row_text(&self, name: &str) -> String {
        let script = format!("const row = {ROW}; return row ? row.innerText : null;");
        let text = self
            .browser
            .wait_for(&format!("a row for {name}"), &script, vec![json!(name)])
            .await;
        text.as_str().unwrap().to_owned()
    }

    /// The natural size of the thumbnail the row shows (the transformed version).
    pub async fn thumbnail_size(&self, name: &str) -> (u64, u64) {
        let script = format!(
            "const row = {ROW}; const img = row && row.querySelector('.thumb img');
             return img && !img.hidden && img.complete && img.naturalWidth
                 ? [img.dataset.version, img.naturalWidth, img.naturalHeight] : null;"
        );
        let found = self
            .browser
            .wait_for(
                &format!("a thumbnail of {name}"),
                &script,
                vec![json!(name)],
            )
            .await;
        assert_eq!(
            found[0], "transformed",
            "the thumbnail is the transformed version"
        );
        (found[1].as_u64().unwrap(), found[2].as_u64().unwrap())
    }

    /// Clicks one of the row's buttons (`original`, `transformed`, `toggle`).
    pub async fn row_action(&self, name: &str, action: &str) {
        let script = format!(
            "const row = {ROW}; const b = row && row.querySelector(`[data-action=${{arguments[1]}}]`);
             if (!b || b.hidden || b.disabled) return false; b.click(); return true;"
        );
        self.browser
            .wait_for(
                &format!("the {action} button of {name}"),
                &script,
                vec![json!(name), json!(action)],
            )
            .await;
    }

    pub async fn filter(&self, status: &str, uploader: &str) {
        let select = self
            .browser
            .client
            .find(Locator::Css("#filter-status"))
            .await
            .unwrap();
        select.select_by_value(status).await.unwrap();
        self.browser.type_into("#filter-uploader", uploader).await;
        self.browser.click("#filters button[type=submit]").await;
    }

    /// The names and statuses the log shows once it has settled.
    pub async fn rows(&self) -> Vec<(String, String)> {
        let script = "const state = document.getElementById('log-state').textContent;
            if (state.startsWith('Loading')) return null;
            return [[...document.querySelectorAll('#log li.entry')]
                .map(r => [r.querySelector('.name').textContent, r.dataset.status])];";
        let rows = self.browser.wait_for("the log", script, vec![]).await;
        serde_json::from_value(rows[0].clone()).unwrap()
    }

    pub async fn sign_out(&self) {
        self.browser.click("#sign-out").await;
        self.browser
            .wait_for(
                "the signed-out page",
                "return location.pathname === '/'
                    && document.getElementById('welcome')?.hidden === false",
                vec![],
            )
            .await;
    }

    pub async fn session_storage_keys(&self) -> (Vec<String>, usize) {
        let found = self
            .browser
            .eval(
                "return [Object.keys(sessionStorage), localStorage.length, document.cookie.length]",
                vec![],
            )
            .await;
        let local = found[1].as_u64().unwrap() + found[2].as_u64().unwrap();
        (
            serde_json::from_value(found[0].clone()).unwrap(),
            local as usize,
        )
    }
}
