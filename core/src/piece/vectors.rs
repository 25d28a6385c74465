//! Cross-check vectors computed with @web3-storage/data-segment 5.3.0 under Node.js 20 (data only).
//!
//! Payloads are `det_data(size, salt)`: byte `i` is `((i + salt) * 2654435761 mod 2^32) >> 13`,
//! generated identically on both sides. To regenerate, in a scratch directory with
//! `npm install @web3-storage/data-segment`:
//!
//! ```js
//! import { Piece, Aggregate, Inclusion } from '@web3-storage/data-segment'
//! const data = (n, salt = 0) => Uint8Array.from({ length: n }, (_, i) => (Math.imul(i + salt, 2654435761) >>> 13) & 0xff)
//! // commP: for each size n
//! const p = Piece.fromPayload(data(n)); [p.link.toString(), p.toInfo().link.toString(), p.height, p.padding]
//! // aggregates: pieces built from data(n, salt), in order
//! const agg = Aggregate.build({ pieces, size: BigInt(dealSize) }); agg.link.toString()
//! Buffer.from(Inclusion.encode(agg.resolveProof(piece.link).ok)).toString('hex')
//! ```

use super::aggregate::Aggregate;
use super::cid::{parse_cid, Piece};
use super::proof::{verify_inclusion, InclusionProof};
use super::tree::piece_of;

fn det_data(n: usize, salt: u32) -> Vec<u8> {
    (0..n as u32).map(|i| ((i.wrapping_add(salt).wrapping_mul(2654435761)) >> 13) as u8).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// (payload size, v2 piece CID, v1 piece CID, height, padding) of `det_data(size, 0)`.
const COMMP: &[(usize, &str, &str, u8, u64)] = &[
    (
        65,
        "bafkzcibchybcpgi2w56he37uutcpvylw7ri5budmbz4ryzaghk55tfsj35xqokq",
        "baga6ea4seaqcpgi2w56he37uutcpvylw7ri5budmbz4ryzaghk55tfsj35xqokq",
        2,
        62,
    ),
    (
        66,
        "bafkzcibchubdigae6d2ztev54bcspcy3beqwa2egtc4hdvxg7udgpp7oob5rqdi",
        "baga6ea4seaqdigae6d2ztev54bcspcy3beqwa2egtc4hdvxg7udgpp7oob5rqdi",
        2,
        61,
    ),
    (
        96,
        "bafkzcibcd4bnw6gzyyhkfhprzrrfojtkin5fx52cmqyq7k27cn5vc46srjf46ca",
        "baga6ea4seaqnw6gzyyhkfhprzrrfojtkin5fx52cmqyq7k27cn5vc46srjf46ca",
        2,
        31,
    ),
    (
        126,
        "bafkzcibcaebdv52zt6qe2qh445cvf6zyaid23wwgefguffjo5of26nqrwqqbwdi",
        "baga6ea4seaqdv52zt6qe2qh445cvf6zyaid23wwgefguffjo5of26nqrwqqbwdi",
        2,
        1,
    ),
    (
        127,
        "bafkzcibcaabnlentcuqgr22xapceushcpqjtrvbp7qoy2hyzqssad4pyb35zegi",
        "baga6ea4seaqnlentcuqgr22xapceushcpqjtrvbp7qoy2hyzqssad4pyb35zegi",
        2,
        0,
    ),
    (
        128,
        "bafkzcibcpybs43g6h5cqxggds77xssd4pkujo4dvq7cfquu523oun2znr2hr6mi",
        "baga6ea4seaqc43g6h5cqxggds77xssd4pkujo4dvq7cfquu523oun2znr2hr6mi",
        3,
        126,
    ),
    (
        129,
        "bafkzcibcpuby5q7mvpss53zvzlghb7ptclqqnvmkcsml7o4vf3y2uhidtwrqubi",
        "baga6ea4seaqi5q7mvpss53zvzlghb7ptclqqnvmkcsml7o4vf3y2uhidtwrqubi",
        3,
        125,
    ),
    (
        253,
        "bafkzcibcaeb7tzyip3h5f4flvhgwf5seqdormqkjtbnx2yscyhd6qoihlvso2ki",
        "baga6ea4seaqptzyip3h5f4flvhgwf5seqdormqkjtbnx2yscyhd6qoihlvso2ki",
        3,
        1,
    ),
    (
        254,
        "bafkzcibcaab3ebwzdklp676p3k3rpttw7c7ougv7pny4mvzaa7uoiomyhqs3qdi",
        "baga6ea4seaqlebwzdklp676p3k3rpttw7c7ougv7pny4mvzaa7uoiomyhqs3qdi",
        3,
        0,
    ),
    (
        255,
        "bafkzcibd7uaqinzyfph3iv4s5mpqapgbpxlxmcd6qostp4ejemu7lkcrl3fvyejp",
        "baga6ea4seaqdooblz62fpexld4adzql5253aq7uduu37bcjdfh22quk6znobcly",
        4,
        253,
    ),
    (
        256,
        "bafkzcibd7qaqi7elyhz2pxvpyvqtzk256cpoquymt2i4cbntcnqw73kukbxh7xyc",
        "baga6ea4seaqhzc6b6ot55l6fme6kwxpqt3ufgde6shaqlmytmfx62vcqnz756aq",
        4,
        252,
    ),
    (
        381,
        "bafkzcibcp4clntqzjmsbmmxivgrjv5yk7b4alx7kyu54atywwtnecipt3w3cgba",
        "baga6ea4seaqlntqzjmsbmmxivgrjv5yk7b4alx7kyu54atywwtnecipt3w3cgba",
        4,
        127,
    ),
    (
        508,
        "bafkzcibcaacd2rpp4dinhbn6utx6ebqu5cctgzm3mz7cnvda5frtv6twcdt22na",
        "baga6ea4seaqd2rpp4dinhbn6utx6ebqu5cctgzm3mz7cnvda5frtv6twcdt22na",
        4,
        0,
    ),
    (
        509,
        "bafkzcibd7mbqlkwjon7qjj2qc7beqlkfr54otuzpsh2z34m4rf7cl5gpeynwblrp",
        "baga6ea4seaqkvsltp4ckouaxyjec2rmppdu5gl4r6wo7dhejpys7jtzgdnqk4ly",
        5,
        507,
    ),
    (
        1015,
        "bafkzcibcaecwgftd722zbtnk6vzu37oixbt5ivuojuulfmp2b7mbd376kdc44oa",
        "baga6ea4seaqggftd722zbtnk6vzu37oixbt5ivuojuulfmp2b7mbd376kdc44oa",
        5,
        1,
    ),
    (
        1016,
        "bafkzcibcaac4h2tv2zejocmcg7jag6qly6hrmkvklb7pwat7hzrmaftdzvu3ela",
        "baga6ea4seaqmh2tv2zejocmcg7jag6qly6hrmkvklb7pwat7hzrmaftdzvu3ela",
        5,
        0,
    ),
    (
        1017,
        "bafkzcibd64dqmpxrqvlnaedpyao7r6xfoznmxb63ula3o46ahbhwr4alh4kdlhrp",
        "baga6ea4seaqd54mfk3iba36adx4pvzlwllfypw5cyg3xhqbyj5upacz7cq2z4ly",
        6,
        1015,
    ),
    (
        1024,
        "bafkzcibd6adqnjx5vhu7daet5k6plklhy66jq552zqfqezibg6goad2qmmnp5my2",
        "baga6ea4seaqkn7nj5hyybe7kxt22sz6hxsmhpowmbmbgkajxrtqa6udddl7lggq",
        6,
        1008,
    ),
    (
        2031,
        "bafkzcibcaednivvdxmrdkvkoik4uiafa62djhs6f4iqrvuwssybw4nijo55ngii",
        "baga6ea4seaqnivvdxmrdkvkoik4uiafa62djhs6f4iqrvuwssybw4nijo55ngii",
        6,
        1,
    ),
    (
        2032,
        "bafkzcibcaadprwj2hbmm42bdedtxfs3jwpzrivw62mdzg3aa5q4xp3dehoniaha",
        "baga6ea4seaqprwj2hbmm42bdedtxfs3jwpzrivw62mdzg3aa5q4xp3dehoniaha",
        6,
        0,
    ),
    (
        2033,
        "bafkzcibd54hqol6pe3yucy6fhwvew2ffbzlsy4beqhldgld6ofgzdxokkwo2i7yk",
        "baga6ea4seaqc7tzg6fawhrj5vjfwrjiok4whajeb2yzsy7trjwi53ssvtwsh6cq",
        7,
        2031,
    ),
    (
        4095,
        "bafkzcibdyepqqfl7ghp5awp4irhy7e6v7uhqdnljbhexj4tsfxsogccs66xhzpjk",
        "baga6ea4seaqbk7zr37ift7cej6hzhvp5b4a3k2ijzf2pe4rn4trqquxxvz6l2kq",
        8,
        4033,
    ),
    (
        4096,
        "bafkzcibdyapqrxgx2kj4creu67fkq7qnqblfnjtpzhf3uqwyzxfkvlo2drcyypqi",
        "baga6ea4seaqnzv6sspaujfhxzkuh4dmakzlkm36jzo5efwgnzkvk3wq4iwgd4ca",
        8,
        4032,
    ),
    (
        65024,
        "bafkzcibcaaf6lh4at7bcvfqsnm6ly44k5trqwzvjo4rrdmk7nkbd6c6sjy2lmeq",
        "baga6ea4seaqolh4at7bcvfqsnm6ly44k5trqwzvjo4rrdmk7nkbd6c6sjy2lmeq",
        11,
        0,
    ),
    (
        65536,
        "bafkzcibeqd4agdahpkznhjdk7ohfn7trhmiz2tkswjk77glulfe5tj6qxsubc2m7gi",
        "baga6ea4seaqao6vs2osgv64ok37hcoyrtvgvfmsv76mxiwkj3gt5bpficfuz6mq",
        12,
        64512,
    ),
    (
        1040384,
        "bafkzcibcaah4kbiytludc2e4xpjvcpvou7lbcfmx2v7ujiczv4mj6buj5nkjwea",
        "baga6ea4seaqmkbiytludc2e4xpjvcpvou7lbcfmx2v7ujiczv4mj6buj5nkjwea",
        15,
        0,
    ),
    (
        1040385,
        "bafkzcibe767t6eehgiy5zoizt62aljzkvjgf3dytwsvdzb26lsewdsmvczxrfx5ygi",
        "baga6ea4seaqiomrr3s4rth5uawtsvksmlwhrhnfkhsdv4xejmhezkftpclp3qmq",
        16,
        1040383,
    ),
    (
        1048576,
        "bafkzcibeqcad6eetb32ggs3ptz64vid3kbi46k3u5tevqi7bsh4zrq3i6nne7qe5g4",
        "baga6ea4seaqjgdxumnfw7ht5zkqhwucrz4vxj3gjlar6depztdbwr422j7aj2ny",
        16,
        1032192,
    ),
    (
        3000000,
        "bafkzcibeydzemeos2fna6bg6av7whvlvj2q7nh5vplqbjetijqnlrhkm5etzehxkea",
        "baga6ea4seaqnfuk2b4cn4bl7mpkxktvb62p3k6xacsjgqta2xcouz2jhsipouia",
        17,
        1161536,
    ),
];

#[test]
fn commp_matches_data_segment() {
    for &(size, v2, v1, height, padding) in COMMP {
        let info = piece_of(&det_data(size, 0)).unwrap();
        assert_eq!(info.cid.to_string(), v2, "size {size}");
        assert_eq!(info.cid_v1.to_string(), v1, "size {size}");
        assert_eq!((info.height, info.padding), (height, padding), "size {size}");
    }
}

struct AggregateVector {
    deal_size: u64,
    /// (payload size, salt) of each piece, in order.
    pieces: &'static [(usize, u32)],
    cid: &'static str,
    /// (piece CID, dag-cbor inclusion proof); empty where only the aggregate CID is checked.
    proofs: &'static [(&'static str, &'static str)],
}

const AGGREGATES: &[AggregateVector] = &[
    AggregateVector {
        deal_size: 1048576,
        pieces: &[(4096, 1), (65, 2), (100000, 3), (127, 4), (20000, 5)],
        cid: "bafkzcibcaah5ur6q2nuzucgegcxmbbfx2k6htduadogcihrm6xkx3flatwnoijq",
        proofs: &[
            ("bafkzcibdyapqqvjtn44hgvtlabhgirbfkiexsuveyt35hiouijjkx2h2ca3xk5qr", "828200875820ad1ac9967b3927edd077d37245f071e860371636a7f44440fa309e218f512d1a5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258207c93bbe611820e55fcd4a8f0705fe4b7143fb90ea26f3a3c2c45db46a23ee3165820baf4dbd39440fc53eb93d7d4d848e31ed74e6275f584fb1e038935d15f4acb1458203b73148779e415136e69870651372e313c66f682c19f3c49abec3ee9a290dc2a82193ff88e5820dacbad6cf996309c7fcdd8dd498e7b81a66d75aad0e58e8e4711ec97c9217f095820a1ede4dae30a80a919cb22f3f1f134f0070cd5cbfbfaf72585055f413feaae35582096e081257b50a497a73783cdaca8f220ec0d2dcb0045daebbff47c02be4dcb00582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff6245820b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a07582033516434f58c520b9858e41f973b81aa6095e410bae45fc5d6d126c7b5745838"),
            ("bafkzcibchybeslbgxeonb4pxh2u77rtiw5mzgtvzqiu56w4h3tcbb36dvfq5oli", "828218408d58203731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd4883335820642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff624582055336f3873566b004e64442552097952a4c4f7d3a1d44252abe8fa10377576115820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258207c93bbe611820e55fcd4a8f0705fe4b7143fb90ea26f3a3c2c45db46a23ee3165820baf4dbd39440fc53eb93d7d4d848e31ed74e6275f584fb1e038935d15f4acb1458203b73148779e415136e69870651372e313c66f682c19f3c49abec3ee9a290dc2a82193ff98e58201382ed4b1103780c77fc350539ca9225318b019061f653524b5c2f812380d1095820a1ede4dae30a80a919cb22f3f1f134f0070cd5cbfbfaf72585055f413feaae35582096e081257b50a497a73783cdaca8f220ec0d2dcb0045daebbff47c02be4dcb00582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff6245820b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a07582033516434f58c520b9858e41f973b81aa6095e410bae45fc5d6d126c7b5745838"),
            ("bafkzcibe4dvacdd4so56memcbzk7zvfi6byf7zfxcq73sdvcn45dylcf3ndkepxdcy", "828201835820cfe40e726688a988ee64b06eb61240a1287472644ffcd8d3480901f25bd1560b5820baf4dbd39440fc53eb93d7d4d848e31ed74e6275f584fb1e038935d15f4acb1458203b73148779e415136e69870651372e313c66f682c19f3c49abec3ee9a290dc2a82193ffa8e5820e1579a74701dca91225405daedf52a3beed78c706195dc776775cfe919b0803258204e8609a6e5393278867ae2596e2bdd98909b5ff159f3a59191eec6d3ae8c6f05582096e081257b50a497a73783cdaca8f220ec0d2dcb0045daebbff47c02be4dcb00582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff6245820b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a07582033516434f58c520b9858e41f973b81aa6095e410bae45fc5d6d126c7b5745838"),
            ("bafkzcibcaabg3fmzcyi54g5anpna5bpiysxiyf67gzdlmvm6i4qo5hedidh3snq", "82821908008d58203731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd4883335820642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff6245820b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e5481890051085820907624d530cc42b3ba0a2951abfce4c71e3c1bc459716bab64e24c9fc47e57325820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820e665175c03d06381b8bdae942b2b623cd67e198f7d739a3083b0c900b839d01858203b73148779e415136e69870651372e313c66f682c19f3c49abec3ee9a290dc2a82193ffb8e582062f8b616694e4e82e93db477014e1f8f3f3b9b8a1ffb774c6c93c6ca0dc5183758204e8609a6e5393278867ae2596e2bdd98909b5ff159f3a59191eec6d3ae8c6f05582096e081257b50a497a73783cdaca8f220ec0d2dcb0045daebbff47c02be4dcb00582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff6245820b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a07582033516434f58c520b9858e41f973b81aa6095e410bae45fc5d6d126c7b5745838"),
            ("bafkzcibd4bqqvedwetktbtccwo5aukkrvp6ojry6hqn4iwlrnovwjysmt7ch4vzs", "8282098558204b20b70fdb3243b4f3494e8a9e3d286c1f35ba1c7cbca2bb3516872d3d63df195820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820e665175c03d06381b8bdae942b2b623cd67e198f7d739a3083b0c900b839d01858203b73148779e415136e69870651372e313c66f682c19f3c49abec3ee9a290dc2a82193ffc8e5820f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb0b58203731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd48833358208dbc60e15ee44062454293ed567b55a2c8b2a0cbcb310cc174e2ab0e4a1a3335582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff6245820b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a07582033516434f58c520b9858e41f973b81aa6095e410bae45fc5d6d126c7b5745838"),
        ],
    },
    AggregateVector {
        deal_size: 34359738368,
        pieces: &[(4096, 1), (65, 2), (100000, 3), (127, 4), (20000, 5)],
        cid: "bafkzcibcaapn6qo3lu4o4mag4p2esez7b2f4r3ylhjr7xwj5gc3n2e4xbt5aabq",
        proofs: &[
            ("bafkzcibdyapqqvjtn44hgvtlabhgirbfkiexsuveyt35hiouijjkx2h2ca3xk5qr", "828200965820ad1ac9967b3927edd077d37245f071e860371636a7f44440fa309e218f512d1a5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258207c93bbe611820e55fcd4a8f0705fe4b7143fb90ea26f3a3c2c45db46a23ee3165820baf4dbd39440fc53eb93d7d4d848e31ed74e6275f584fb1e038935d15f4acb1458207022f60f7ef6adfa17117a52619e30cea82c68075adf1c667786ec506eef2d195820d99887b973573a96e11393645236c17b1f4c7034d723c7a99f709bb4da61162b5820d0b530dbb0b4f25c5d2f2a28dfee808b53412a02931f18c499f5a254086b1326582084c0421ba0685a01bf795a2344064fe424bd52a9d24377b394ff4c4b4568e811582065f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c5820a2247508285850965b7e334b3127b0c042b1d046dc54402137627cd8799ce13a5820dafdab6da9364453c26d33726b9fefe343be8f81649ec009aad3faff506175085820d941d5e0d6314a995c33ffbd4fbe69118d73d4e5fd2cd31f0f7c86ebdd14e7065820514c435c3d04d349a5365fbd59ffc713629111785991c1a3c53af22079741a2f5820ad06853969d37d34ff08e09f56930a4ad19a89def60cbfee7e1d3381c1e71c37582039560e7b13a93b07a243fd2720ffa7cb3e1d2e505ab3629e79f46313512cda065820ccc3c012f5b05e811a2bbfdd0f6833b84275b47bf229c0052a82484f3c1a5b3d58207df29b69773199e8f2b40b77919d048509eed768e2c7297b1f1437034fc3c62c582066ce05a3667552cf45c02bcc4e8392919bdeac35de2ff56271848e9f7b6751075820d8610218425ab5e95b1ca6239d29a2e420d706a96f373e2f9c9a91d759d19b015820bc4c03428b315b33cbd6c5d1eae53ad8c0c8c27e6136d4067387917b22ce8d1f821a1ffc0000981d5820dacbad6cf996309c7fcdd8dd498e7b81a66d75aad0e58e8e4711ec97c9217f095820a1ede4dae30a80a919cb22f3f1f134f0070cd5cbfbfaf72585055f413feaae35582096e081257b50a497a73783cdaca8f220ec0d2dcb0045daebbff47c02be4dcb00582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f5820fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833582008c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff6245820b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f5820f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e54818900510858202c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e740115820fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f0258208e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f5820752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a0758207022f60f7ef6adfa17117a52619e30cea82c68075adf1c667786ec506eef2d195820d99887b973573a96e11393645236c17b1f4c7034d723c7a99f709bb4da61162b5820d0b530dbb0b4f25c5d2f2a28dfee808b53412a02931f18c499f5a254086b1326582084c0421ba0685a01bf795a2344064fe424bd52a9d24377b394ff4c4b4568e811582065f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c5820a2247508285850965b7e334b3127b0c042b1d046dc54402137627cd8799ce13a5820dafdab6da9364453c26d33726b9fefe343be8f81649ec009aad3faff506175085820d941d5e0d6314a995c33ffbd4fbe69118d73d4e5fd2cd31f0f7c86ebdd14e7065820514c435c3d04d349a5365fbd59ffc713629111785991c1a3c53af22079741a2f5820ad06853969d37d34ff08e09f56930a4ad19a89def60cbfee7e1d3381c1e71c37582039560e7b13a93b07a243fd2720ffa7cb3e1d2e505ab3629e79f46313512cda065820ccc3c012f5b05e811a2bbfdd0f6833b84275b47bf229c0052a82484f3c1a5b3d58207df29b69773199e8f2b40b77919d048509eed768e2c7297b1f1437034fc3c62c582066ce05a3667552cf45c02bcc4e8392919bdeac35de2ff56271848e9f7b6751075820d8610218425ab5e95b1ca6239d29a2e420d706a96f373e2f9c9a91d759d19b015820c9d84bbd1bce90d1ad7ab50876001f028a144770ec0fc07dc5a2cf3690639b3c"),
        ],
    },
    AggregateVector {
        deal_size: 2048,
        pieces: &[(200, 7), (65, 8)],
        cid: "bafkzcibcaadnybdoom333bzk2aahjvhrs4h2qf3kfbcoaevn2d3qbqtdsf4y2jy",
        proofs: &[
            ("bafkzcibcgybqsqkr6by4lx2x2yll4x6nu3o6rbra5yhfxrmtcygwhvxs55siggy", "8282008358208fd727047fa77ec79e58f909366c9c57bca1ef021d36c4d846702ebaf440c12e582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201a04eebffc61edc7eb1ad4fff6544a27034a9273f5a8932f82e305bdb5e3571e82181c855820b2cb261aeef21c60e30928a22ce57d1d12f5d3dfc0d3c9ef9fee8e728ca8d62258203731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd4883335820642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658207eea1ff05f2934c1a8dc1eaf687bb3f27d8249965f387864c78606d581878b23"),
            ("bafkzcibchybfnzujfbcwpqgw35dtmgplz2pljasix2h3idniqdzldcinfhej2ba", "8282028458203731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd4883335820094151f071c5df57d616be5fcda6dde88620ee0e5bc593160d63d6f2ef64831b582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658201a04eebffc61edc7eb1ad4fff6544a27034a9273f5a8932f82e305bdb5e3571e82181d855820ca403a97c644ee9afe55d2bfa8b8969918e7e3887d4b9f4f2c3b1a470f96880c58203731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd4883335820642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f582057a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb852658207eea1ff05f2934c1a8dc1eaf687bb3f27d8249965f387864c78606d581878b23"),
        ],
    },
];

#[test]
fn aggregates_and_proofs_match_data_segment() {
    for v in AGGREGATES {
        let pieces: Vec<Piece> =
            v.pieces.iter().map(|&(n, salt)| piece_of(&det_data(n, salt)).unwrap().piece).collect();
        let agg = Aggregate::from_pieces(v.deal_size, &pieces).unwrap();
        assert_eq!(agg.cid().to_string(), v.cid, "deal {}", v.deal_size);
        for (n, &(piece, cbor)) in v.proofs.iter().enumerate() {
            let piece_cid = parse_cid(piece).unwrap();
            assert_eq!(pieces[n].cid(), piece_cid);
            let ours = agg.proof(&piece_cid).unwrap();
            let bytes = unhex(cbor);
            assert_eq!(ours.to_bytes(), bytes, "proof {n} of deal {}", v.deal_size);
            let theirs = InclusionProof::from_bytes(&bytes).unwrap();
            assert_eq!(verify_inclusion(&piece_cid, &agg.cid(), &theirs), Ok(()));
        }
        for p in &pieces {
            assert_eq!(
                verify_inclusion(&p.cid(), &agg.cid(), &agg.proof(&p.cid()).unwrap()),
                Ok(())
            );
        }
    }
}
