//! Decoding an `application/x-www-form-urlencoded` body into the parameters Twilio signed.

use std::borrow::Cow;

/// A decoded name and value, borrowed from the body when nothing needed decoding.
pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The body is not UTF-8 once decoded: Twilio sends UTF-8, so this request is not Twilio's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedForm;

/// The name–value pairs of a form body, decoded as the WHATWG `application/x-www-form-urlencoded`
/// parser does (`&`-separated, empty pieces skipped, split at the first `=`, `+` is a space,
/// valid `%XX` decoded and invalid ones kept), except that bytes which are not UTF-8 are an
/// error instead of U+FFFD.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<Pair<'_>>, MalformedForm> {
    body.split(|&b| b == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = match piece.iter().position(|&b| b == b'=') {
                Some(eq) => (&piece[..eq], &piece[eq + 1..]),
                None => (piece, &[][..]),
            };
            Ok((unescape(name)?, unescape(value)?))
        })
        .collect()
}

/// The decoded text, borrowed when there is nothing to decode.
fn unescape(bytes: &[u8]) -> Result<Cow<'_, str>, MalformedForm> {
    if !bytes.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|_| MalformedForm);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| MalformedForm)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(body: &str) -> Vec<(String, String)> {
        decode(body.as_bytes())
            .unwrap()
            .into_iter()
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn decodes_like_a_form_parser() {
        assert_eq!(
            pairs("a=1&&b=x+y%2B%26&c&=v&d=%zz%4"),
            [
                ("a", "1"),
                ("b", "x y+&"),
                ("c", ""),
                ("", "v"),
                ("d", "%zz%4")
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(pairs("e=%C3%A9%E2%9C%93"), [("e".into(), "é✓".into())]);
        assert!(pairs("").is_empty());
    }

    #[test]
    fn refuses_bytes_that_are_not_utf8() {
        assert_eq!(decode(b"a=%FF"), Err(MalformedForm));
        assert_eq!(decode(b"a=\xC3"), Err(MalformedForm));
    }
}
