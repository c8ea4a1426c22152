// Cross-checks for gridmint's wallet tests, run by cmd/gridmint's tests with
// node. Each subcommand prints one result on stdout.
//
//   decrypt FILE PASSWORD        address of the key in a keystore file
//   encrypt PRIVKEY PASSWORD     a keystore (ethers' default scrypt) on stdout
//   verify MESSAGE SIGNATURE     address that personal-signed MESSAGE
//   sign PRIVKEY MESSAGE         personal_sign signature of MESSAGE
import { readFileSync } from "node:fs";
import { Wallet, verifyMessage } from "ethers";

const [cmd, a, b] = process.argv.slice(2);
switch (cmd) {
  case "decrypt": {
    const w = await Wallet.fromEncryptedJson(readFileSync(a, "utf8"), b);
    console.log(w.address);
    break;
  }
  case "encrypt": {
    const w = new Wallet(a);
    console.log(await w.encrypt(b));
    break;
  }
  case "verify":
    console.log(verifyMessage(a, b));
    break;
  case "sign":
    console.log(await new Wallet(a).signMessage(b));
    break;
  default:
    console.error("unknown command " + cmd);
    process.exit(2);
}
