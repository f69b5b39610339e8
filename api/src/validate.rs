//! Validators and masks for personal data: resident ID numbers (GB 11643) and mainland mobile
//! numbers.
//!
//! Everything here is a pure function. Error values are short, fixed, client-safe reasons: they
//! never contain the checked value, because that value is personal information and error
//! messages end up in logs and in responses shown to other people.

use chrono::{FixedOffset, NaiveDate, Utc};
use entity::Gender;

/// ISO 7064 MOD 11-2 weights of the first 17 digits of a resident ID number.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character for each value of the weighted sum modulo 11.
const ID_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Earliest birth year accepted. GB 11643 itself uses a person born in 1880 as an example, so
/// the bound only rules out dates that cannot belong to anyone with an ID card.
const EARLIEST_BIRTH_YEAR: u32 = 1800;

/// China Standard Time (UTC+8): "today" for a birth date means today in China, otherwise a baby
/// registered shortly after midnight Beijing time would be born "in the future".
const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// What a valid resident ID number says about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdNumberInfo {
    /// Birth date encoded in characters 7–14.
    pub birth_date: NaiveDate,
    /// Sex encoded by the parity of the sequence code (characters 15–17): odd is male.
    pub gender: Gender,
}

/// The check character (`0`–`9` or `X`) of a resident ID number whose first 17 characters are
/// `first17`, by ISO 7064 MOD 11-2 as GB 11643 requires.
///
/// Returns `None` unless `first17` is exactly 17 ASCII digits.
pub fn id_number_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    // `sum % 11` is below 11, so the index is always in bounds; `get` keeps the code panic-free.
    ID_CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// Validates an 18-character resident ID number and extracts the birth date and sex.
///
/// Accepted: 17 ASCII digits followed by the matching check character (`0`–`9` or an
/// upper-case `X`); the birth date (characters 7–14) must be a real calendar date, not before
/// 1800 and not after today (China time); the sex comes from the parity of the sequence code
/// (odd: male, even: female). The area code is not checked against the list of divisions, since
/// that list changes over time and old codes stay valid on existing cards.
///
/// A lower-case `x` is rejected rather than silently accepted: the value is stored and compared
/// as text (it is unique in the database), so accepting both spellings would allow two rows for
/// one person. Clients should upper-case before sending; the error says so.
///
/// The error is a short reason that never contains the input.
pub fn validate_id_number(s: &str) -> Result<IdNumberInfo, &'static str> {
    let now = Utc::now();
    let today = match FixedOffset::east_opt(CHINA_OFFSET_SECONDS) {
        Some(china) => now.with_timezone(&china).date_naive(),
        None => now.date_naive(),
    };
    validate_id_number_at(s, today)
}

/// [`validate_id_number`] with an explicit "today" (China time), so that the check is a pure
/// function of its arguments: for tests, and for callers that must not depend on the clock.
pub fn validate_id_number_at(s: &str, today: NaiveDate) -> Result<IdNumberInfo, &'static str> {
    let bytes = s.as_bytes();
    if bytes.len() != 18 {
        return Err("ID number must be 18 characters");
    }
    let (first17, last) = bytes.split_at(17);
    if !first17.iter().all(u8::is_ascii_digit) {
        return Err("ID number must start with 17 digits");
    }
    let last = last.first().copied().unwrap_or_default();
    if last == b'x' {
        return Err("ID number check character must be an upper-case X");
    }
    if !(last.is_ascii_digit() || last == b'X') {
        return Err("ID number must end with a digit or X");
    }
    // The first 17 bytes are ASCII digits, so byte offset 17 is a char boundary.
    let expected = id_number_check_char(&s[..17]);
    if expected != Some(char::from(last)) {
        return Err("ID number check character does not match");
    }
    let digits = |range: std::ops::Range<usize>| -> u32 {
        first17[range]
            .iter()
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    let (year, month, day) = (digits(6..10), digits(10..12), digits(12..14));
    let birth_date = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        .ok_or("ID number birth date is not a valid date")?;
    if year < EARLIEST_BIRTH_YEAR {
        return Err("ID number birth date is too early");
    }
    if birth_date > today {
        return Err("ID number birth date is in the future");
    }
    let gender = if digits(16..17) % 2 == 1 {
        Gender::Male
    } else {
        Gender::Female
    };
    Ok(IdNumberInfo { birth_date, gender })
}

/// Validates a mainland China mobile number: exactly 11 ASCII digits, the first `1`, the second
/// `3`–`9`. No spaces, dashes or `+86` prefix: numbers are stored in this one canonical form.
///
/// The error is a short reason that never contains the input.
pub fn validate_mobile(s: &str) -> Result<(), &'static str> {
    let bytes = s.as_bytes();
    if bytes.len() != 11 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err("mobile number must be 11 digits");
    }
    if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
        return Err("mobile number must start with 13-19");
    }
    Ok(())
}

/// Masks a phone number for display: the first 3 and last 4 characters stay, every character in
/// between becomes `*` (`13812345678` → `138****5678`).
///
/// Values shorter than 11 characters are masked completely, since keeping 7 characters of a
/// short value would reveal most of it. Works on characters, never panics.
pub fn mask_phone(s: &str) -> String {
    mask_middle(s, 3, 4, 11)
}

/// Masks a resident ID number for display: the area code (first 6 characters) and the last 4
/// stay, the birth date and the rest become `*` (`370685199001011234` → `370685********1234`).
///
/// Values shorter than 14 characters are masked completely. Works on characters, never panics.
pub fn mask_id_number(s: &str) -> String {
    mask_middle(s, 6, 4, 14)
}

/// Masks a birth date (`1990-01-01` → `1990******`): only the year stays.
pub fn mask_birth_date(s: &str) -> String {
    mask_middle(s, 4, 0, 10)
}

/// Keeps `keep_start` leading and `keep_end` trailing characters of `s` and replaces each other
/// character with `*`; values with fewer than `min_len` characters become all `*`.
fn mask_middle(s: &str, keep_start: usize, keep_end: usize, min_len: usize) -> String {
    let len = s.chars().count();
    if len < min_len || len < keep_start + keep_end {
        return "*".repeat(len);
    }
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_start || i >= len - keep_end {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test may panic
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Builds a full ID number from its first 17 digits.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", id_number_check_char(first17).unwrap())
    }

    #[test]
    fn check_char_matches_published_examples() {
        // The two examples of GB 11643-1999.
        assert_eq!(id_number_check_char("11010519491231002"), Some('X'));
        assert_eq!(id_number_check_char("44052418800101001"), Some('4'));
        // By hand: weighted sum 21+63+0+30+64+20+2+9+54+0+0+9+0+5+0+0+2 = 279,
        // 279 mod 11 = 4, check character "10X98765432"[4] = '8'.
        assert_eq!(id_number_check_char("37068519900101001"), Some('8'));
        // Sequence 002 adds 2 to the sum: 281 mod 11 = 6, check character '6'.
        assert_eq!(id_number_check_char("37068519900101002"), Some('6'));
    }

    #[test]
    fn check_char_rejects_malformed_input() {
        assert_eq!(id_number_check_char(""), None);
        assert_eq!(id_number_check_char("1101051949123100"), None);
        assert_eq!(id_number_check_char("110105194912310021"), None);
        assert_eq!(id_number_check_char("1101051949123100a"), None);
        assert_eq!(id_number_check_char("１１０１０５１９４９１２３１０"), None);
    }

    #[test]
    fn valid_id_numbers_give_birth_date_and_gender() {
        let today = date(2026, 12, 1);
        let info = validate_id_number_at("11010519491231002X", today).unwrap();
        assert_eq!(
            info,
            IdNumberInfo {
                birth_date: date(1949, 12, 31),
                gender: Gender::Female
            }
        );
        let info = validate_id_number_at("440524188001010014", today).unwrap();
        assert_eq!(
            info,
            IdNumberInfo {
                birth_date: date(1880, 1, 1),
                gender: Gender::Male
            }
        );
        let info = validate_id_number_at("370685199001010018", today).unwrap();
        assert_eq!(
            info,
            IdNumberInfo {
                birth_date: date(1990, 1, 1),
                gender: Gender::Male
            }
        );
        // Leap day in a leap year.
        let info = validate_id_number_at("370685199001010026", today).unwrap();
        assert_eq!(
            info,
            IdNumberInfo {
                birth_date: date(1990, 1, 1),
                gender: Gender::Female
            }
        );
        let leap = with_check("37068520000229002");
        let info = validate_id_number_at(&leap, today).unwrap();
        assert_eq!(info.birth_date, date(2000, 2, 29));
        // The clock-reading variant agrees for dates safely in the past.
        assert_eq!(
            validate_id_number("11010519491231002X").unwrap().gender,
            Gender::Female
        );
    }

    #[test]
    fn parity_of_sequence_code_gives_gender() {
        let today = date(2026, 12, 1);
        for seq in 0..20u32 {
            let id = with_check(&format!("37068519851107{seq:03}"));
            let info = validate_id_number_at(&id, today).unwrap();
            let expected = if seq % 2 == 1 {
                Gender::Male
            } else {
                Gender::Female
            };
            assert_eq!(info.gender, expected, "sequence {seq}");
            assert_eq!(info.birth_date, date(1985, 11, 7));
        }
    }

    #[test]
    fn wrong_check_character_is_rejected() {
        let today = date(2026, 12, 1);
        assert_eq!(
            validate_id_number_at("110105194912310021", today),
            Err("ID number check character does not match")
        );
        assert_eq!(
            validate_id_number_at("370685199001010014", today),
            Err("ID number check character does not match")
        );
        // Every wrong check character fails.
        for c in "0123456789X".chars().filter(|&c| c != '8') {
            let id = format!("37068519900101001{c}");
            assert!(validate_id_number_at(&id, today).is_err(), "{c}");
        }
    }

    #[test]
    fn lower_case_x_is_rejected_with_a_hint() {
        assert_eq!(
            validate_id_number_at("11010519491231002x", date(2026, 12, 1)),
            Err("ID number check character must be an upper-case X")
        );
    }

    #[test]
    fn impossible_or_future_birth_dates_are_rejected() {
        let today = date(2026, 12, 1);
        let bad_date = Err("ID number birth date is not a valid date");
        // February 30th, with a correct check character so that only the date is wrong.
        assert_eq!(
            validate_id_number_at(&with_check("37068519900230001"), today),
            bad_date
        );
        // February 29th of a non-leap year, month 13, day 0, day 32.
        assert_eq!(
            validate_id_number_at(&with_check("37068519010229001"), today),
            bad_date
        );
        assert_eq!(
            validate_id_number_at(&with_check("37068519901301001"), today),
            bad_date
        );
        assert_eq!(
            validate_id_number_at(&with_check("37068519900100001"), today),
            bad_date
        );
        assert_eq!(
            validate_id_number_at(&with_check("37068519900132001"), today),
            bad_date
        );
        // Tomorrow is in the future, today is fine.
        assert_eq!(
            validate_id_number_at(&with_check("37068520261202001"), today),
            Err("ID number birth date is in the future")
        );
        assert!(validate_id_number_at(&with_check("37068520261201001"), today).is_ok());
        assert_eq!(
            validate_id_number_at(&with_check("37068517991231001"), today),
            Err("ID number birth date is too early")
        );
    }

    #[test]
    fn malformed_id_numbers_are_rejected_without_echoing_input() {
        let today = date(2026, 12, 1);
        let inputs = [
            "",
            "11010519491231002",
            "11010519491231002X0",
            "1101051949123100AX",
            " 11010519491231002X",
            "11010519491231002Y",
            // 18 bytes but not 18 characters: must not panic on slicing.
            "11010519491231１X",
            "３７０６８５",
        ];
        for input in inputs {
            let err = validate_id_number_at(input, today).unwrap_err();
            assert!(input.is_empty() || !err.contains(input), "{err}");
            assert!(!err.contains("1101051949"), "{err}");
        }
    }

    #[test]
    fn mobile_numbers() {
        assert_eq!(validate_mobile("13812345678"), Ok(()));
        assert_eq!(validate_mobile("19912345678"), Ok(()));
        assert_eq!(validate_mobile("16612345678"), Ok(()));
        let short = Err("mobile number must be 11 digits");
        let prefix = Err("mobile number must start with 13-19");
        assert_eq!(validate_mobile(""), short);
        assert_eq!(validate_mobile("1381234567"), short);
        assert_eq!(validate_mobile("138123456789"), short);
        assert_eq!(validate_mobile("138-1234567"), short);
        assert_eq!(validate_mobile("+8613812345"), short);
        assert_eq!(validate_mobile("１３８１２３４５６７８"), short);
        assert_eq!(validate_mobile("23812345678"), prefix);
        assert_eq!(validate_mobile("12812345678"), prefix);
        assert_eq!(validate_mobile("10812345678"), prefix);
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0535-8212345"), "053*****2345");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("1234567"), "*******");
        assert_eq!(mask_phone("1381234567"), "**********");
        assert_eq!(mask_id_number("370685199001011234"), "370685********1234");
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        // Old 15-digit numbers keep the same ends.
        assert_eq!(mask_id_number("370685900101123"), "370685*****1123");
        assert_eq!(mask_id_number("1234567890123"), "*************");
        assert_eq!(mask_id_number(""), "");
        // Multi-byte characters: counted as characters, never split.
        assert_eq!(mask_phone("１３８１２３４５６７８"), "１３８****５６７８");
        assert_eq!(
            mask_id_number("泉山街道泉山街道泉山街道泉山街道泉山"),
            "泉山街道泉山********街道泉山"
        );
        assert_eq!(mask_phone("é"), "*");
        assert_eq!(mask_birth_date("1990-01-01"), "1990******");
    }
}
