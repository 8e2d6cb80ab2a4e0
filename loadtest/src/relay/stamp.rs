//! Kernel receive timestamps (`SO_TIMESTAMPNS`): the moment a segment reached a socket, stamped by the kernel as it
//! arrived, whatever the reader's scheduling did after. The relay dates each segment's delay from it, and the test
//! of the relay measures each direction of a link between two such stamps, so that neither end's wake-up counts.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, SystemTime};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt::ReceiveTimestampns};

/// Asks the kernel to stamp every segment `socket` receives.
pub fn enable(socket: &impl AsFd) -> std::io::Result<()> {
    setsockopt(socket, ReceiveTimestampns, &true).map_err(std::io::Error::from)
}

/// Reads what is queued on `socket` into `buffer`, with the time the kernel received the last segment read (on the
/// real-time clock, which is the one it stamps with), or `None` when the socket is not stamped. A would-block read
/// is an error of kind `WouldBlock`, as for any non-blocking read.
pub fn receive(socket: &impl AsRawFd, buffer: &mut [u8]) -> std::io::Result<(usize, Option<SystemTime>)> {
    let mut slices = [IoSliceMut::new(buffer)];
    let mut control = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let message = recvmsg::<()>(socket.as_raw_fd(), &mut slices, Some(control.as_mut_slice()), MsgFlags::empty())?;
    let arrived = message.cmsgs().ok().and_then(|mut messages| {
        messages.find_map(|message| match message {
            ControlMessageOwned::ScmTimestampns(time) => Some(
                SystemTime::UNIX_EPOCH
                    + Duration::new(u64::try_from(time.tv_sec()).ok()?, u32::try_from(time.tv_nsec()).ok()?),
            ),
            _ => None,
        })
    });
    Ok((message.bytes, arrived))
}

/// How long ago `arrived` was, on the real-time clock; zero when it seems to lie ahead (the clock was stepped).
pub fn age(arrived: SystemTime) -> Duration {
    SystemTime::now().duration_since(arrived).unwrap_or_default()
}

/// Nanoseconds since the Unix epoch, the form in which the measurement's messages carry times.
pub fn nanoseconds(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map(|since| since.as_nanos() as i64).unwrap_or_default()
}
