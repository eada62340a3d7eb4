//! The image of the repository's `Dockerfile` in a run of libp2p/unified-testing's shape, on a
//! real Docker engine: the runtime image built around our release binary (`--target
//! runtime-prebuilt`), a Redis container on a user-defined network under the harness's name
//! `perf-redis`, and listener and dialer started by a compose file of the shape
//! perf/lib/run-single-test.sh writes (same services, environment and network layout), with
//! `docker-compose up --exit-code-from dialer --abort-on-container-exit`. The dialer's logs go
//! through the harness's own filter and a YAML parser. Our image on both sides (tcp/noise,
//! ws/tls), the go interop peer's `unified` image as the listener (tcp/noise) and as the dialer
//! (tcp/tls); and the refusal of a cell they do not serve, from each container.
//!
//! Needs root, a running Docker engine, docker-compose and (the first time) debootstrap: locally
//! the tests skip and say why when one is missing; under CI=true they fail (.ci/run installs and
//! starts them). Base images come from docker/base-images.sh (made from Debian packages, since no
//! registry is reachable here) and are reused once made.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;

const OUR_IMAGE: &str = "yamux-perf-unified:test";
const GO_IMAGE: &str = "go-libp2p-perf-unified:test";
const GO_PEER: &str = "target/interop/go/go-libp2p-perf";
/// What the harness allows a test (run-single-test.sh's PERF_TEST_TIMEOUT_SECS default).
const COMPOSE_LIMIT: Duration = Duration::from_secs(300);
/// Per iteration (64 MiB), counts as in the harness's metadata but smaller.
const BYTES: &str = "67108864";
const ITERATIONS: [i64; 3] = [5, 5, 50];

/// A precondition that is missing: a failure under CI=true, a skip (with the reason) locally.
fn missing(reason: &str) -> Option<()> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason} (CI=true: the docker tests must not be skipped)");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// Runs `command` and returns its stdout; panics with its stderr when it fails.
fn checked(command: &mut Command) -> String {
    let out = run(command);
    assert!(
        out.status.success(),
        "{command:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn docker(args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    command.args(args);
    command
}

/// The images both tests use, built once per test process.
struct Images {
    redis: String,
}

/// Root, an engine, docker-compose, the release binary in the build context; then the base
/// images and ours. `None` when something is missing locally.
fn images() -> Option<&'static Images> {
    static IMAGES: OnceLock<Option<Images>> = OnceLock::new();
    IMAGES.get_or_init(build_images).as_ref()
}

fn build_images() -> Option<Images> {
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if !root_user {
        missing("not root (the docker tests start a Docker engine's containers as root)")?;
    }
    match Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => missing(&format!(
            "no Docker engine answers `docker info` ({}); start dockerd",
            stderr_of(&out).trim()
        ))?,
        Err(e) => missing(&format!("no docker CLI ({e}); apt-get install docker.io"))?,
    }
    if !Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing("no docker-compose (apt-get install docker-compose)")?;
    }
    let root = repo_root();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_yamux-perf"));
    if binary != root.join("target/release/yamux-perf") {
        missing(&format!(
            "the image wraps target/release/yamux-perf, this test run's binary is {}; run `cargo test --release`",
            binary.display()
        ))?;
    }
    let names = checked(Command::new(root.join("docker/base-images.sh")).current_dir(&root));
    let [base, redis] = names.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("docker/base-images.sh printed {names:?}");
    };
    let start = Instant::now();
    checked(
        docker(&[
            "build",
            "-q",
            "--target",
            "runtime-prebuilt",
            "-t",
            OUR_IMAGE,
        ])
        .args(["--build-arg", &format!("RUNTIME_IMAGE={base}")])
        .arg(&root),
    );
    eprintln!("built {OUR_IMAGE} in {:?}", start.elapsed());
    if let Some(go) = interop_peer(GO_PEER, "interop/build.sh go") {
        let start = Instant::now();
        checked(
            docker(&["build", "-q", "-t", GO_IMAGE])
                .args(["--build-arg", &format!("BASE_IMAGE={base}")])
                .arg("-f")
                .arg(root.join("interop/go-peer/Dockerfile"))
                .arg(go.parent().unwrap()),
        );
        eprintln!("built {GO_IMAGE} in {:?}", start.elapsed());
    }
    Some(Images {
        redis: redis.to_string(),
    })
}

/// A user-defined network with a Redis container called `perf-redis` on it (as perf/run.sh
/// starts them), removed when dropped.
struct Stage {
    network: String,
    redis: String,
}

impl Stage {
    fn start(name: &str, redis_image: &str) -> Self {
        let network = format!("yamux-perf-{name}-{}", std::process::id());
        let _ = run(&mut docker(&["network", "rm", &network]));
        checked(&mut docker(&["network", "create", &network]));
        let stage = Self {
            redis: format!("{network}-redis"),
            network,
        };
        checked(&mut docker(&[
            "run",
            "-d",
            "--rm",
            "--name",
            &stage.redis,
            "--network",
            &stage.network,
            "--network-alias",
            "perf-redis",
            redis_image,
        ]));
        let start = Instant::now();
        while run(&mut docker(&["exec", &stage.redis, "redis-cli", "ping"])).stdout != b"PONG\n" {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "redis did not answer in its container"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        stage
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = run(&mut docker(&["rm", "-f", &self.redis]));
        let _ = run(&mut docker(&["network", "rm", &self.network]));
    }
}

/// One cell as run-single-test.sh runs it (its "modern test" compose file); `down` when dropped.
struct Compose {
    file: PathBuf,
    project: String,
    _dir: ScratchDir,
}

/// The environment lines generate_modern_env_vars (lib/lib-test-execution.sh) writes.
fn env_lines(is_dialer: bool, test_key: &str, transport: &str, security: &str) -> String {
    let mut lines = vec![
        format!("IS_DIALER={is_dialer}"),
        "REDIS_ADDR=perf-redis:6379".into(),
        format!("TEST_KEY={test_key}"),
        format!("TRANSPORT={transport}"),
        "LISTENER_IP=0.0.0.0".into(),
        "DEBUG=false".into(),
        format!("SECURE_CHANNEL={security}"),
        "MUXER=yamux".into(),
    ];
    if is_dialer {
        for (name, value) in [
            ("UPLOAD_BYTES", BYTES.to_string()),
            ("DOWNLOAD_BYTES", BYTES.to_string()),
            ("UPLOAD_ITERATIONS", ITERATIONS[0].to_string()),
            ("DOWNLOAD_ITERATIONS", ITERATIONS[1].to_string()),
            ("LATENCY_ITERATIONS", ITERATIONS[2].to_string()),
            ("DURATION", "20".into()),
        ] {
            lines.push(format!("{name}={value}"));
        }
    }
    lines
        .iter()
        .map(|line| format!("      - {line}\n"))
        .collect()
}

impl Compose {
    fn new(stage: &Stage, listener: &str, dialer: &str, transport: &str, security: &str) -> Self {
        let dir = ScratchDir::new("compose");
        // The harness's TEST_KEY is 8 hex digits of a hash of the test name; any will do here.
        let test_key = format!("{:08x}", std::process::id() ^ 0x5eed_0000);
        let project = format!("{}-{transport}-{security}", stage.network);
        let file = dir.0.join("compose.yaml");
        // run-single-test.sh names the project with a top-level `name:`, which docker-compose
        // 1.29 (Debian's) rejects; `-p` is the same thing for both compose versions.
        let text = format!(
            "networks:
  default:
    name: {net}
    external: true
  perf-network:
    name: {net}
    external: true

services:
  listener:
    image: {listener}
    container_name: {project}_listener
    init: true
    networks:
      - perf-network
    environment:
{listener_env}
  dialer:
    image: {dialer}
    container_name: {project}_dialer
    depends_on:
      - listener
    networks:
      - perf-network
    environment:
{dialer_env}",
            net = stage.network,
            listener_env = env_lines(false, &test_key, transport, security),
            dialer_env = env_lines(true, &test_key, transport, security),
        );
        std::fs::write(&file, text).unwrap();
        Self {
            file,
            project,
            _dir: dir,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker-compose");
        command
            .arg("-f")
            .arg(&self.file)
            .args(["-p", &self.project])
            .args(args);
        command
    }

    /// `up --exit-code-from dialer --abort-on-container-exit`, then the dialer's logs.
    fn up(&self) -> (Output, String) {
        let out = run_with_timeout(
            self.command(&[
                "up",
                "--exit-code-from",
                "dialer",
                "--abort-on-container-exit",
            ]),
            COMPOSE_LIMIT,
        );
        let logs = checked(&mut self.command(&["logs", "--no-color", "dialer"]));
        (out, logs)
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let _ = run(&mut self.command(&["down", "--volumes", "--remove-orphans"]));
    }
}

/// One cell at a time: the machine has few cores and the medians are checked.
static CELLS: Mutex<()> = Mutex::new(());

/// Runs one cell and checks what the harness would keep; returns the kept YAML.
fn cell(name: &str, listener: &str, dialer: &str, transport: &str, security: &str) -> String {
    let images = images().expect("checked by the caller");
    let _one = CELLS.lock().unwrap_or_else(|e| e.into_inner());
    let stage = Stage::start(name, &images.redis);
    let compose = Compose::new(&stage, listener, dialer, transport, security);
    let start = Instant::now();
    let (out, logs) = compose.up();
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{name}: compose up exited {}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    let kept = harness_filter_compose_logs(&logs);
    eprintln!("{name} ({transport}, {security}, yamux) in {elapsed:?}, the harness keeps:\n{kept}");
    // Containers on one bridge of a shared 2-core machine.
    check_harness_yaml(&kept, ITERATIONS, 0.1);
    kept
}

#[test]
fn ours_on_both_sides_under_the_harness_compose_shape() {
    if images().is_none() {
        return;
    }
    cell("ours-ours", OUR_IMAGE, OUR_IMAGE, "tcp", "noise");
    cell("ours-ours", OUR_IMAGE, OUR_IMAGE, "ws", "tls");
}

#[test]
fn go_and_ours_under_the_harness_compose_shape() {
    if images().is_none() || interop_peer(GO_PEER, "interop/build.sh go").is_none() {
        return;
    }
    cell("go-ours", GO_IMAGE, OUR_IMAGE, "tcp", "noise");
    // The other direction: go's dialer (its YAML goes through the same filter and checks).
    cell("ours-go", OUR_IMAGE, GO_IMAGE, "tcp", "tls");
}

/// Runs `image` with the dialer's environment, `var=value` in place of its default; returns
/// the exit code and stderr.
fn refused(image: &str, var: &str, value: &str) -> (Option<i32>, String) {
    let mut command = docker(&["run", "--rm"]);
    for (name, default) in [
        ("IS_DIALER", "true"),
        ("REDIS_ADDR", "perf-redis:6379"),
        ("TEST_KEY", "a1b2c3d4"),
        ("TRANSPORT", "tcp"),
        ("SECURE_CHANNEL", "noise"),
        ("MUXER", "yamux"),
    ] {
        let value = if name == var { value } else { default };
        command.args(["-e", &format!("{name}={value}")]);
    }
    let out = run(command.arg(image));
    (out.status.code(), stderr_of(&out))
}

#[test]
fn the_images_refuse_cells_they_do_not_serve() {
    if images().is_none() {
        return;
    }
    let (code, stderr) = refused(OUR_IMAGE, "TRANSPORT", "quic-v1");
    // docs/exit-codes.md: a cell we do not serve is a usage error (2); the harness only needs
    // a non-zero exit.
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("TRANSPORT=quic-v1: not supported, this image serves tcp and ws"),
        "{stderr}"
    );
    if interop_peer(GO_PEER, "interop/build.sh go").is_some() {
        let (code, stderr) = refused(GO_IMAGE, "MUXER", "mplex");
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("MUXER=mplex: not supported, this image serves yamux"),
            "{stderr}"
        );
    }
}
