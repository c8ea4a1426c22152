package baseline

// BatteryProvenWh is the delivery a site's meters prove for one interval
// of a battery request, whatever the battery would have done without it:
//
//	Down: min(D − C, E − I)    Up: min(C − D, I − E)
//
// with the interval's battery charge C and discharge D (batteryNetWh =
// C − D) and the site's grid import I and export E, all in Wh. In words: a
// down request is credited at most the battery's net discharge, and at
// most what the site put on the grid; an up request at most the battery's
// net charge, and at most what the site took from the grid. The result is
// negative when the site moved the other way.
//
// Why it is a bound. Without a dispatch a home battery runs in
// self-consumption: it charges only from the site's surplus (PV − load,
// when positive) and discharges at most to cover the site's deficit
// (load − PV, when positive); it neither exports nor charges from the grid.
// The site's other loads and its PV are the same with or without the
// request. So with B = C − D and net import N = I − E = load − PV + B,
// and B' the battery without the request:
//
//   - Down, delivered = B' − B. In a deficit B' ≥ −(load − PV) = B − N,
//     so delivered ≥ −N = E − I; in a surplus B' ≥ 0, so delivered ≥ −B =
//     D − C. The smaller of the two is a bound in both cases.
//   - Up, delivered = B − B', symmetric: in a surplus B' ≤ PV − load =
//     B − N, so delivered ≥ N = I − E; in a deficit B' ≤ 0, so delivered ≥
//     B = C − D.
//
// The bound holds exactly per instant; on interval energies it holds when
// the interval does not switch between surplus and deficit, and to the
// meters' resolution (each channel is a whole-Wh difference of counters).
// It does not cover a battery that would have exported or charged from the
// grid on its own programme (time-of-use arbitrage); the baseline method's
// own estimate, from the battery's profile on earlier days, sees that
// habit, which is why settlement pays the smaller of the two (Settle,
// proof cap).
func BatteryProvenWh(d Direction, importWh, exportWh, batteryNetWh int64) int64 {
	if d == Up {
		return min(batteryNetWh, importWh-exportWh)
	}
	return min(-batteryNetWh, exportWh-importWh)
}
