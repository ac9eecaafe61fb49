//! `mrproxy status VIEW --json`: the part of the document one view shows.

use super::model::Document;
use crate::cli::View;
use serde_json::{Value, json};

/// The whole document for [`View::All`], else an object with the view's fields only (the
/// schema number and version are always there, so that a script can check them).
pub fn select(doc: &Document, view: View) -> Value {
    let part = match view {
        View::All => return serde_json::to_value(doc).unwrap_or(Value::Null),
        View::Interfaces => json!({ "interfaces": doc.interfaces }),
        View::Groups => json!({ "groups": doc.groups }),
        View::Hosts => json!({ "hosts": doc.hosts }),
        View::Upstream => json!({
            "upstream": doc.upstream,
            "pending_retries": doc.pending_retries,
        }),
        View::Routes => json!({ "routes": doc.routes }),
        View::Stats => json!({ "stats": doc.stats, "uptime_seconds": doc.uptime_seconds }),
    };
    let mut part = part;
    part["schema"] = json!(doc.schema);
    part["version"] = json!(doc.version);
    part
}
