//! `seams-loadtest relay` as a run starts it: a link per line on stdin, and an exit when stdin closes, which is what
//! happens when the run that started it ends, even when it is killed half way.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use seams_loadtest::relay::start_echo_server;

#[test]
fn the_relay_process_relays_and_exits_when_its_parent_goes() {
    let echo = start_echo_server(1).unwrap();
    let mut relay = Command::new(env!("CARGO_BIN_EXE_seams-loadtest"))
        .args(["relay", "--one-way-us=150", "--jitter-us=50"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = relay.stdin.take().unwrap();
    let mut stdout = BufReader::new(relay.stdout.take().unwrap());
    writeln!(stdin, "{echo}").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("answered {line:?}"));

    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(b"through the relay").unwrap();
    let mut answer = [0u8; 17];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"through the relay");

    // The parent going away closes the pipe; the relay must end on its own, without a signal.
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = relay.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = relay.kill();
            panic!("the relay still ran 10 s after its stdin closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}
