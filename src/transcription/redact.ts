// Optional masking of phone and card numbers in stored transcripts (REDACT_TRANSCRIPTS).
// Card numbers are recognised by length and the Luhn check, so ordinary figures survive.

const CARD = /\b(?:\d[ -]?){12,18}\d\b/g;
const PHONE = /(?:\+|\b)\d[\d ().-]{5,}\d\b/g;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

export function redact(text: string): string {
  const cards = text.replace(CARD, (m) => (luhn(m.replace(/\D/g, '')) ? '[card number]' : m));
  return cards.replace(PHONE, (m) => (m.replace(/\D/g, '').length >= 7 ? '[phone number]' : m));
}
