//! The Gherkin suite: `features/*.feature` run by cucumber-rs against every
//! target each scenario applies to, on emulators started once for the run.
//!
//! Arguments (after `--`): `--tags EXPR` (cucumber tag expression),
//! `--target NAME` (repeatable: embedded, aws-emulated,
//! aws-emulated-localstack, lambda), `--containers` (emulators in containers;
//! needs a Docker engine and the images `just bdd-images` builds).
//! Environment: `FLIPFRAME_BDD_LOCALSTACK=off` drops the LocalStack target.

#[path = "../support/mod.rs"]
mod support;

mod containers;
mod emulators;
mod images;
mod services;
mod steps;
mod targets;
mod world;

use cucumber::event::ScenarioFinished;
use cucumber::tag::Ext as _;
use cucumber::writer::Stats as _;
use cucumber::{World as _, WriterExt as _, writer};
use emulators::{Emulators, Path};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use targets::{Kind, Target};
use world::FlipframeWorld;

/// Scenarios finished in the current target run.
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);
/// Where each failed scenario is, for the closing lines: CI shows a log's tail.
static FAILURES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct Args {
    tags: Option<String>,
    targets: Vec<Kind>,
    containers: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        tags: None,
        targets: Vec::new(),
        containers: false,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--tags" | "-t" => args.tags = words.next(),
            "--target" => {
                let name = words.next().unwrap_or_default();
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| k.name() == name)
                    .unwrap_or_else(|| panic!("no target {name:?}"));
                args.targets.push(kind);
            }
            "--containers" => args.containers = true,
            // cargo test passes its own flags through; none concern us.
            _ => {}
        }
    }
    if args.targets.is_empty() {
        args.targets = Kind::ALL.to_vec();
    }
    args
}

fn report_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp: the reports go beside it.
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("cucumber")
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let mut args = parse_args();
    let localstack_wanted = std::env::var("FLIPFRAME_BDD_LOCALSTACK").map_or(true, |v| v != "off");
    if !localstack_wanted {
        println!(
            "LocalStack is off (FLIPFRAME_BDD_LOCALSTACK=off): the aws-emulated-localstack target is skipped"
        );
        args.targets.retain(|k| *k != Kind::AwsLocalStack);
    }
    let path = if args.containers {
        match containers::engine_answers().await {
            Ok(()) => Path::Containers,
            Err(why) => {
                println!("no Docker engine answers ({why}); using host processes instead");
                Path::Host
            }
        }
    } else {
        Path::Host
    };
    let with_localstack = args.targets.contains(&Kind::AwsLocalStack);
    let emulators = Emulators::start(path, with_localstack)
        .await
        .expect("emulators start");
    let tags: Option<cucumber::gherkin::tagexpr::TagOperation> = args.tags.as_deref().map(|expr| {
        expr.parse()
            .unwrap_or_else(|e| panic!("bad --tags {expr:?}: {e}"))
    });

    let reports = report_dir();
    std::fs::create_dir_all(&reports).unwrap();
    let features = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../features");
    let (mut passed, mut failed, mut junit_parts) = (0usize, 0usize, Vec::new());
    for kind in args.targets.clone() {
        let target = Arc::new(Target::new(kind, Arc::clone(&emulators.endpoints)));
        world::set_target(Arc::clone(&target));
        println!("\n=== target {} ({path:?} emulators) ===", kind.name());
        let junit_path = reports.join(format!("junit-{}.xml", kind.name()));
        let junit = std::fs::File::create(&junit_path).unwrap();
        let tags = tags.clone();
        let summary = FlipframeWorld::cucumber()
            .max_concurrent_scenarios(6)
            .fail_on_skipped()
            .after(move |feature, _, scenario, finished, _| {
                let counter = match finished {
                    ScenarioFinished::StepPassed => &PASSED,
                    _ => {
                        let file = feature.path.as_deref().and_then(|p| p.file_name());
                        FAILURES.lock().unwrap().push(format!(
                            "{} {}:{} {}",
                            kind.name(),
                            file.map_or_else(
                                || feature.name.clone(),
                                |f| f.to_string_lossy().into()
                            ),
                            scenario.position.line,
                            scenario.name
                        ));
                        &FAILED
                    }
                };
                counter.fetch_add(1, Ordering::SeqCst);
                Box::pin(async {})
            })
            .with_writer(
                writer::Basic::stdout()
                    .summarized()
                    .tee::<FlipframeWorld, _>(writer::JUnit::for_tee(junit, 0))
                    .normalized(),
            )
            // Our own arguments were parsed above; cucumber must not read them.
            .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
            .filter_run(&features, move |feature, rule, scenario| {
                let all: Vec<String> = feature
                    .tags
                    .iter()
                    .chain(rule.iter().flat_map(|r| &r.tags))
                    .chain(scenario.tags.iter())
                    .cloned()
                    .collect();
                kind.applies_to(&all) && tags.as_ref().is_none_or(|t| t.eval(all.iter()))
            })
            .await;
        let (run_passed, run_failed) = (
            PASSED.swap(0, Ordering::SeqCst),
            FAILED.swap(0, Ordering::SeqCst),
        );
        passed += run_passed;
        failed += run_failed;
        if summary.execution_has_failed() && run_failed == 0 {
            // Parsing or hook errors fail the run even when no scenario did.
            failed += summary.parsing_errors().max(1);
        }
        junit_parts.push(std::fs::read_to_string(&junit_path).unwrap_or_default());
        drop(target);
    }
    write_combined_junit(&reports.join("junit.xml"), &junit_parts);
    drop(emulators);
    println!(
        "\nbdd: JUnit report at {}",
        reports.join("junit.xml").display()
    );
    println!("bdd: wall time {:.0} s", started.elapsed().as_secs_f64());
    for failure in FAILURES.lock().unwrap().iter() {
        println!("bdd: FAILED {failure}");
    }
    // The plain closing line CI reads.
    println!("bdd: {passed} passed, {failed} failed");
    if failed > 0 || passed == 0 {
        std::process::exit(1);
    }
}

/// One `<testsuites>` with the suites of every target run.
fn write_combined_junit(path: &std::path::Path, parts: &[String]) {
    let mut combined = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for part in parts {
        if let (Some(start), Some(end)) = (part.find("<testsuite "), part.rfind("</testsuites>")) {
            combined.push_str(&part[start..end]);
        }
    }
    combined.push_str("</testsuites>\n");
    std::fs::write(path, combined).unwrap();
}
