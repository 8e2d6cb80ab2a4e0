//! `cargo xtask loadtest`: builds the app and the load generator in release mode, then runs one load test through
//! `seams-loadtest run`. Goose never compiles into xtask; this file only spawns cargo.

use std::process::{Command, ExitCode};

use seams_loadtest_args::RunArgs;

pub fn run(args: &RunArgs) -> ExitCode {
    let mut forwarded = vec!["run".to_owned()];
    forwarded.extend(args.to_arguments());
    run_loadtest_binary(&forwarded)
}

/// The cargo that runs xtask, so that the toolchain is the same.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds `rewards` and `seams-loadtest` in release mode, then runs the `seams-loadtest` that build made with
/// `arguments`. One cargo invocation builds both, and its binary is run directly rather than through `cargo run -p
/// seams-loadtest`: a second invocation with another package set unifies features differently and compiled goose and
/// its dependencies a second time.
pub fn run_loadtest_binary(arguments: &[String]) -> ExitCode {
    let built = cargo()
        .args(["build", "--release", "--quiet", "--message-format=json-render-diagnostics", "-p", "rewards", "-p"])
        .arg("seams-loadtest")
        .stderr(std::process::Stdio::inherit())
        .output();
    let output = match built {
        Ok(output) if output.status.success() => output,
        _ => {
            eprintln!("error: building rewards and seams-loadtest in release mode failed");
            return ExitCode::from(2);
        }
    };
    let Some(loadtest) = executable_of(&String::from_utf8_lossy(&output.stdout), "seams-loadtest") else {
        eprintln!("error: cargo build did not report the seams-loadtest executable");
        return ExitCode::from(2);
    };
    exit_code_of(Command::new(loadtest).args(arguments).status())
}

/// The executable of the binary target `name` among cargo's JSON messages.
fn executable_of(messages: &str, name: &str) -> Option<String> {
    messages.lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).find_map(|message| {
        let is_it = message["reason"] == "compiler-artifact"
            && message["target"]["name"] == name
            && message["target"]["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"));
        if is_it { message["executable"].as_str().map(str::to_owned) } else { None }
    })
}

/// Passes a child's exit code on.
pub fn exit_code_of(status: std::io::Result<std::process::ExitStatus>) -> ExitCode {
    match status {
        Ok(status) => ExitCode::from(status.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(2)),
        Err(error) => {
            eprintln!("error: could not run cargo: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_read_from_cargos_artifact_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"seams_loadtest","kind":["lib"]},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"seams-loadtest","kind":["bin"]},"executable":"/t/release/seams-loadtest"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(executable_of(messages, "seams-loadtest").as_deref(), Some("/t/release/seams-loadtest"));
        assert_eq!(executable_of(messages, "rewards"), None);
    }
}
