//! What customers are told when something goes wrong at a provider. Providers' and
//! partners' own words (error bodies, URLs, HTTP statuses) are for staff: they stay on the
//! job and its manual intervention (Console → Jobs, Manual intervention). Everything a
//! customer can read (the service and order pages, their reasons and timelines, the events
//! that become webhooks, the audit trail) gets one of these plain messages instead.

/// On a leg whose provider rejected it.
pub const LEG_REJECTED: &str =
    "The provider rejected the request; our operations team is looking at it and will update this order.";

/// On a failed order when nobody gave a more specific reason.
pub const PROVISIONING_FAILED: &str = "Provisioning could not be completed; everything ordered for it has been released. Our operations team will contact you.";

/// A customer step the provider did not accept.
pub const CUSTOMER_STEP_FAILED: &str = "The provider did not accept this step just now. Try again in a few minutes; if it keeps failing, our operations team will help.";

/// A single-leg service whose leg was rejected: operations take over.
pub fn leg_rejected(seq: i32, name: &str) -> String {
    format!(
        "Leg {seq} ({name}): the provider rejected the request. Our operations team is looking at it and will update this order."
    )
}

/// A composite whose leg was rejected: what it holds is released, then the order fails.
pub fn composite_leg_rejected(seq: i32, name: &str) -> String {
    format!(
        "Leg {seq} ({name}): the provider rejected the request, so the legs already provisioned are being released. Our operations team has the details and will contact you."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_happens_next_and_name_only_our_leg() {
        for m in [leg_rejected(2, "Fabric: Patchbay"), composite_leg_rejected(2, "Fabric: Patchbay")] {
            assert!(m.starts_with("Leg 2 (Fabric: Patchbay)"), "{m}");
            assert!(m.contains("operations team"), "{m}");
        }
        for m in [LEG_REJECTED, PROVISIONING_FAILED, CUSTOMER_STEP_FAILED] {
            assert!(m.contains("operations team"), "{m}");
        }
    }
}
