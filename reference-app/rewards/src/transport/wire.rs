//! What both halves of a hop agree on: the header names an internal call carries, and the body of a refusal of the
//! member's token. The client and the server both import this module and never each other.

use rewards_platform::HopRefusal;
use serde::{Deserialize, Serialize};

/// The largest request body any listener of the app accepts, public or internal, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The header that carries the calling service's own credential on internal calls.
pub const SERVICE_CREDENTIAL_HEADER: &str = "x-rewards-service-credential";

/// The W3C trace-context header that carries the trace id from hop to hop.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The body of a 401 or 403 that refuses the member's token, so that the caller can pass the refusal on as such.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct HopRefusalBody {
    /// Why the call was refused.
    pub hop_refusal: HopRefusal,
}
