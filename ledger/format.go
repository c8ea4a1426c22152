package ledger

import "strconv"

// FormatFLX shows base units as FLX with six decimals, exactly ("12.000345 FLX").
func FormatFLX(baseUnits uint64) string {
	return fixed(baseUnits, BaseUnitsPerFLX, 6) + " FLX"
}

// FormatREC shows Wh as RECs (1 REC = 1 MWh = 1,000,000 Wh) with six
// decimals, exactly, so that one Wh is still visible ("0.002806 REC").
func FormatREC(wh uint64) string {
	return fixed(wh, WhPerREC, 6) + " REC"
}

// fixed prints v / unit with the given number of decimals (unit = 10^decimals).
func fixed(v, unit uint64, decimals int) string {
	frac := strconv.FormatUint(v%unit, 10)
	for len(frac) < decimals {
		frac = "0" + frac
	}
	return strconv.FormatUint(v/unit, 10) + "." + frac
}
