use super::{EmailAddress, SingleLine, Violations};
use postamt_wire::ActingUser;

/// Checks the person on whose behalf mail is sent (`acting_user`), recording violations
/// under `acting_user.name` / `acting_user.address`. Returns it normalised, or `None`
/// when invalid.
pub fn parse_acting_user(v: &mut Violations, user: &ActingUser) -> Option<ActingUser> {
    let address = v.check("acting_user.address", EmailAddress::try_from(user.address.as_str()));
    let name = match user.name.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(name) => v.check("acting_user.name", SingleLine::parse(name, 200)).map(Some),
    };
    Some(ActingUser { name: name?.map(|n| n.as_str().to_owned()), address: address?.as_str().to_owned() })
}
