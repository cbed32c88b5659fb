//! Unit tests of encoding an attempt's result.

use super::*;

#[test]
fn the_limit_counts_the_encoded_result_not_just_its_data() {
    let payload = crate::convert::payload::json_payload(&serde_json::Value::String(
        "x".repeat(2_097_125 - 2),
    ));
    assert_eq!(payload.data.len(), 2_097_125);
    assert!(
        payload.data.len() <= MAX_RESULT_BYTES,
        "the data alone fits"
    );
    assert!(
        encoded_size(&payload) > MAX_RESULT_BYTES,
        "{}",
        encoded_size(&payload)
    );
    let small = crate::convert::payload::json_payload(&serde_json::json!("hi"));
    let encoded = prost::Message::encode_to_vec(
        &temporalio_common::protos::temporal::api::common::v1::Payloads {
            payloads: vec![small.clone()],
        },
    );
    assert_eq!(
        encoded_size(&small),
        encoded.len(),
        "the same framing as core's"
    );
}
