//! Validates the Twilio SIDs given on the command line.
//!
//! ```sh
//! cargo run -p twilio-types --example check_sids -- AC0123456789abcdef0123456789abcdef ac123
//! ```
//!
//! For each argument it prints which SID type it is, or precisely why it is not a valid
//! SID of the type its prefix names. Exits with status 1 if any argument is invalid and
//! 2 when there is nothing to check.

use std::process::ExitCode;

use twilio_types::{
    AccountSid, ApiKeySid, CredentialSid, MessagingServiceSid, ParseSidError, SafelistSid,
};

/// Each SID type: its prefix and a checker returning the type's name.
type Checker = fn(&str) -> Result<&'static str, ParseSidError>;

const TYPES: &[(&str, Checker)] = &[
    (AccountSid::PREFIX, |s| {
        AccountSid::parse(s).map(|_| "Account SID")
    }),
    (CredentialSid::PREFIX, |s| {
        CredentialSid::parse(s).map(|_| "Credential SID")
    }),
    (SafelistSid::PREFIX, |s| {
        SafelistSid::parse(s).map(|_| "SafeList SID")
    }),
    (ApiKeySid::PREFIX, |s| {
        ApiKeySid::parse(s).map(|_| "API Key SID")
    }),
    (MessagingServiceSid::PREFIX, |s| {
        MessagingServiceSid::parse(s).map(|_| "Messaging Service SID")
    }),
];

fn check(arg: &str) -> Result<&'static str, String> {
    // The type is chosen by prefix, ignoring case so that `ac…` is reported as an
    // Account SID with the wrong-case prefix rather than as an unknown kind.
    let prefix_of = |prefix: &str| arg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    match TYPES.iter().find(|(prefix, _)| prefix_of(prefix)) {
        Some((_, checker)) => checker(arg).map_err(|e| e.to_string()),
        None => {
            let known: Vec<String> = TYPES.iter().map(|(p, _)| format!("\"{p}\"")).collect();
            Err(format!(
                "not a known SID: expected one of the prefixes {}",
                known.join(", ")
            ))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: check_sids SID [SID...]");
        return ExitCode::from(2);
    }
    let mut all_valid = true;
    for arg in &args {
        match check(arg) {
            Ok(type_name) => println!("{arg:?}: valid {type_name}"),
            Err(reason) => {
                all_valid = false;
                println!("{arg:?}: {reason}");
            }
        }
    }
    if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
