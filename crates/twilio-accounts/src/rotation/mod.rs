//! Safe auth-token rotation (create secondary, verify, switch, promote, verify).
