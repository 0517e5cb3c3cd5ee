//! Job types. Each is a serde struct whose `KIND` names it in the `job` table forever;
//! the runner that executes them arrives with the notification work.

use serde::{Deserialize, Serialize};

use crate::db::job::NewJob;

/// A kind of background work.
pub trait Job: Serialize {
    /// The stable name stored in `job.kind`; never rename one that has shipped.
    const KIND: &'static str;

    /// This job as a queue row due at `run_at`, unique by `idempotency_key`.
    fn to_new_job(&self, lead_id: Option<i64>, idempotency_key: String, run_at: i64) -> NewJob {
        NewJob {
            kind: Self::KIND,
            payload: serde_json::to_string(self).expect("job payloads serialise"),
            lead_id,
            idempotency_key,
            run_at,
        }
    }
}

/// Send the quiz-result email to a lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendLeadEmail {
    pub lead_id: i64,
}

impl Job for SendLeadEmail {
    const KIND: &'static str = "send_lead_email";
}

/// Send the follow-up SMS to a lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendLeadSms {
    pub lead_id: i64,
}

impl Job for SendLeadSms {
    const KIND: &'static str = "send_lead_sms";
}

/// Create or update the lead's contact and deal in AmoCRM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushLeadToCrm {
    pub lead_id: i64,
}

impl Job for PushLeadToCrm {
    const KIND: &'static str = "push_lead_to_crm";
}
