//! The 21 operations of Accounts v1: the 20 of the spec, as it names them, and the
//! Compliance Signals check of our extension fragment (`spec/extensions/`).

/// One operation of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    UpdateAuthTokenPromotion,
    CreateSecondaryAuthToken,
    DeleteSecondaryAuthToken,
    CreateBulkConsents,
    CreateBulkContacts,
    ListCredentialAws,
    CreateCredentialAws,
    FetchCredentialAws,
    UpdateCredentialAws,
    DeleteCredentialAws,
    ListCredentialPublicKey,
    CreateCredentialPublicKey,
    FetchCredentialPublicKey,
    UpdateCredentialPublicKey,
    DeleteCredentialPublicKey,
    FetchMessagingGeopermissions,
    UpdateMessagingGeopermissions,
    CreateSafelist,
    FetchSafelist,
    DeleteSafelist,
    /// Not in Twilio's spec: our fragment, from twilio-node 6.3.1.
    CreateComplianceSignalsCheck,
}

impl Op {
    /// Every operation, in the order of CONTRACT.md §2, then §12.
    pub(crate) const ALL: [Op; 21] = [
        Op::UpdateAuthTokenPromotion,
        Op::CreateSecondaryAuthToken,
        Op::DeleteSecondaryAuthToken,
        Op::CreateBulkConsents,
        Op::CreateBulkContacts,
        Op::ListCredentialAws,
        Op::CreateCredentialAws,
        Op::FetchCredentialAws,
        Op::UpdateCredentialAws,
        Op::DeleteCredentialAws,
        Op::ListCredentialPublicKey,
        Op::CreateCredentialPublicKey,
        Op::FetchCredentialPublicKey,
        Op::UpdateCredentialPublicKey,
        Op::DeleteCredentialPublicKey,
        Op::FetchMessagingGeopermissions,
        Op::UpdateMessagingGeopermissions,
        Op::CreateSafelist,
        Op::FetchSafelist,
        Op::DeleteSafelist,
        Op::CreateComplianceSignalsCheck,
    ];

    /// `(operationId, HTTP method, path template)` as in the spec.
    pub(crate) fn spec(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Op::UpdateAuthTokenPromotion => {
                ("UpdateAuthTokenPromotion", "POST", "/v1/AuthTokens/Promote")
            }
            Op::CreateSecondaryAuthToken => (
                "CreateSecondaryAuthToken",
                "POST",
                "/v1/AuthTokens/Secondary",
            ),
            Op::DeleteSecondaryAuthToken => (
                "DeleteSecondaryAuthToken",
                "DELETE",
                "/v1/AuthTokens/Secondary",
            ),
            Op::CreateBulkConsents => ("CreateBulkConsents", "POST", "/v1/Consents/Bulk"),
            Op::CreateBulkContacts => ("CreateBulkContacts", "POST", "/v1/Contacts/Bulk"),
            Op::ListCredentialAws => ("ListCredentialAws", "GET", "/v1/Credentials/AWS"),
            Op::CreateCredentialAws => ("CreateCredentialAws", "POST", "/v1/Credentials/AWS"),
            Op::FetchCredentialAws => ("FetchCredentialAws", "GET", "/v1/Credentials/AWS/{Sid}"),
            Op::UpdateCredentialAws => ("UpdateCredentialAws", "POST", "/v1/Credentials/AWS/{Sid}"),
            Op::DeleteCredentialAws => {
                ("DeleteCredentialAws", "DELETE", "/v1/Credentials/AWS/{Sid}")
            }
            Op::ListCredentialPublicKey => (
                "ListCredentialPublicKey",
                "GET",
                "/v1/Credentials/PublicKeys",
            ),
            Op::CreateCredentialPublicKey => (
                "CreateCredentialPublicKey",
                "POST",
                "/v1/Credentials/PublicKeys",
            ),
            Op::FetchCredentialPublicKey => (
                "FetchCredentialPublicKey",
                "GET",
                "/v1/Credentials/PublicKeys/{Sid}",
            ),
            Op::UpdateCredentialPublicKey => (
                "UpdateCredentialPublicKey",
                "POST",
                "/v1/Credentials/PublicKeys/{Sid}",
            ),
            Op::DeleteCredentialPublicKey => (
                "DeleteCredentialPublicKey",
                "DELETE",
                "/v1/Credentials/PublicKeys/{Sid}",
            ),
            Op::FetchMessagingGeopermissions => (
                "FetchMessagingGeopermissions",
                "GET",
                "/v1/Messaging/GeoPermissions",
            ),
            Op::UpdateMessagingGeopermissions => (
                "UpdateMessagingGeopermissions",
                "PATCH",
                "/v1/Messaging/GeoPermissions",
            ),
            Op::CreateSafelist => ("CreateSafelist", "POST", "/v1/SafeList/Numbers"),
            Op::FetchSafelist => ("FetchSafelist", "GET", "/v1/SafeList/Numbers"),
            Op::DeleteSafelist => ("DeleteSafelist", "DELETE", "/v1/SafeList/Numbers"),
            Op::CreateComplianceSignalsCheck => (
                "CreateComplianceSignalsCheck",
                "POST",
                "/v1/ComplianceSignals/Check",
            ),
        }
    }

    pub(crate) fn id(self) -> &'static str {
        self.spec().0
    }

    /// Whether a request (`method`, URI path and query) is a call of this operation.
    pub(crate) fn matches(self, method: &str, path_and_query: &str) -> bool {
        let (_, expected_method, template) = self.spec();
        let path = path_and_query.split('?').next().unwrap_or_default();
        method == expected_method && path_matches(template, path)
    }
}

/// Whether `path` fits `template`, where a `{Name}` segment stands for any one non-empty segment.
pub(crate) fn path_matches(template: &str, path: &str) -> bool {
    let mut expected = template.split('/');
    let mut actual = path.split('/');
    loop {
        match (expected.next(), actual.next()) {
            (None, None) => return true,
            (Some(e), Some(a)) if e.starts_with('{') && e.ends_with('}') => {
                if a.is_empty() {
                    return false;
                }
            }
            (Some(e), Some(a)) if e == a => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_table_is_exactly_the_specs_operations() {
        let mut spec: serde_json::Value =
            serde_json::from_str(include_str!("../../../spec/twilio_accounts_v1.json")).unwrap();
        crate::spec_extension::merge_all(&mut spec).unwrap();
        let mut in_spec = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    in_spec.insert((id.to_owned(), method.to_uppercase(), path.clone()));
                }
            }
        }
        let ours: BTreeSet<_> = Op::ALL
            .iter()
            .map(|op| {
                let (id, method, path) = op.spec();
                (id.to_owned(), method.to_owned(), path.to_owned())
            })
            .collect();
        assert_eq!(ours.len(), 21);
        assert_eq!(ours, in_spec);
    }

    #[test]
    fn paths_match_their_templates() {
        assert!(path_matches("/v1/Credentials/AWS", "/v1/Credentials/AWS"));
        assert!(path_matches(
            "/v1/Credentials/AWS/{Sid}",
            "/v1/Credentials/AWS/CR123"
        ));
        assert!(!path_matches(
            "/v1/Credentials/AWS/{Sid}",
            "/v1/Credentials/AWS/"
        ));
        assert!(!path_matches(
            "/v1/Credentials/AWS/{Sid}",
            "/v1/Credentials/AWS"
        ));
        assert!(!path_matches(
            "/v1/Credentials/AWS",
            "/v1/Credentials/AWS/CR1"
        ));
        assert!(!path_matches(
            "/v1/Credentials/AWS",
            "/v1/Credentials/PublicKeys"
        ));

        assert!(Op::FetchSafelist.matches("GET", "/v1/SafeList/Numbers?PhoneNumber=%2B1"));
        assert!(!Op::FetchSafelist.matches("DELETE", "/v1/SafeList/Numbers?PhoneNumber=%2B1"));
        assert!(Op::UpdateCredentialAws.matches("POST", "/v1/Credentials/AWS/CRx"));
        assert!(!Op::UpdateCredentialAws.matches("POST", "/v1/Credentials/AWS"));
    }
}
