//! The per-request call context (trace id and the member's token), carried across hops in headers.
//!
//! The gateway and the service server put it in a task-local at the start of each request, and every outgoing peer
//! call copies it into `traceparent` and `Authorization` headers. That way the module traits stay free of
//! transport parameters while each hop still sees the same trace and can re-verify the member's token.

use std::future::Future;

/// What travels with a request from hop to hop.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The W3C trace id (32 lowercase hex digits).
    pub trace_id: String,
    /// The member's bearer token, when the request was made on behalf of a member.
    pub member_token: Option<String>,
}

tokio::task_local! {
    static CURRENT_CALL: CallContext;
}

/// The context of the request being served, if any.
pub fn current() -> Option<CallContext> {
    CURRENT_CALL.try_with(Clone::clone).ok()
}

/// Runs `work` with `context` as the current call context.
pub async fn run_within<F: Future>(context: CallContext, work: F) -> F::Output {
    CURRENT_CALL.scope(context, work).await
}

/// A fresh random trace id.
pub fn new_trace_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A fresh random span id, as used in the `parent-id` field of `traceparent`.
pub fn new_span_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

/// Builds a `traceparent` header value for an outgoing call within `trace_id`.
pub fn traceparent_for(trace_id: &str) -> String {
    format!("00-{trace_id}-{}-01", new_span_id())
}

/// Extracts the trace id from a `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`), if it is well-formed.
pub fn trace_id_from_traceparent(header: &str) -> Option<String> {
    let mut fields = header.trim().split('-');
    let (Some(version), Some(trace_id), Some(parent_id), Some(flags)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    let is_lower_hex = |text: &str, length: usize| {
        text.len() == length && text.chars().all(|character| matches!(character, '0'..='9' | 'a'..='f'))
    };
    let all_zero = trace_id.chars().all(|character| character == '0');
    if is_lower_hex(version, 2)
        && is_lower_hex(trace_id, 32)
        && is_lower_hex(parent_id, 16)
        && is_lower_hex(flags, 2)
        && !all_zero
    {
        Some(trace_id.to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_garbage() {
        let trace_id = new_trace_id();
        assert_eq!(trace_id_from_traceparent(&traceparent_for(&trace_id)), Some(trace_id));
        assert_eq!(
            trace_id_from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        for bad in [
            "",
            "00-xyz-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        ] {
            assert_eq!(trace_id_from_traceparent(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn context_is_visible_only_inside_its_scope() {
        assert!(current().is_none());
        let context = CallContext { trace_id: "abc".to_owned(), member_token: None };
        let seen = run_within(context, async { current().map(|context| context.trace_id) }).await;
        assert_eq!(seen.as_deref(), Some("abc"));
    }
}
